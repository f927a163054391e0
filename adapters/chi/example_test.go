package livechi_test

import (
	"context"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"

	live "github.com/live-go/live"
)

// Counter is the component of the examples.
type Counter struct {
	live.Base
	Count int `json:"count"`
}

// Increment adds one.
func (c *Counter) Increment(*live.Ctx) error {
	c.Count++
	return nil
}

// userKey is the application's own context key for the caller's identity.
type userKey struct{}

// authenticate is the application's middleware: it verifies the request
// (a session cookie, a token...) and stores the caller's identity.
func authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-User") // stands for a real session lookup
		if user == "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		id := &live.Identity{ID: user}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, id)))
	})
}

// identify is Options.Identify: it returns what authenticate stored.
func identify(ctx context.Context, _ *live.Request) (*live.Identity, error) {
	id, _ := ctx.Value(userKey{}).(*live.Identity)
	return id, nil
}

// Serving live with chi: the Server is an http.Handler.
func Example() {
	srv, err := live.New(live.Options{
		AllowedOrigins: []string{"https://app.example"},
		Identify:       identify,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		log.Fatal(err)
	}

	r := chi.NewRouter()
	r.Use(authenticate)
	r.Handle("/api/live/*", srv) // WebSocket at /api/live/ws, SSE, long-polling, client.js
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", r))
}

// Serving live with net/http alone.
func Example_netHTTP() {
	srv, err := live.New(live.Options{
		AllowedOrigins: []string{"https://app.example"},
		Identify:       identify,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/live/", authenticate(srv))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
