package livechi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	live "github.com/live-go/live"
	"github.com/live-go/live/adapters/internal/adaptertest"
)

// testAuth is the suite's auth convention as a net/http middleware, with
// the same context key as the examples.
func testAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(adaptertest.DenyHeader) != "" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if user := r.Header.Get(adaptertest.UserHeader); user != "" {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, &live.Identity{ID: user}))
		}
		next.ServeHTTP(w, r)
	})
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			t.Errorf("http.Server.Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestSuite(t *testing.T) {
	tests := []struct {
		name  string
		build func(srv *live.Server) http.Handler
	}{
		{"chi", func(srv *live.Server) http.Handler {
			r := chi.NewRouter()
			r.Use(testAuth)
			r.Handle(live.DefaultPrefix+"/*", srv)
			return r
		}},
		{"chi Mount", func(srv *live.Server) http.Handler {
			r := chi.NewRouter()
			r.With(testAuth).Mount(live.DefaultPrefix, srv)
			return r
		}},
		{"net/http", func(srv *live.Server) http.Handler {
			mux := http.NewServeMux()
			mux.Handle(live.DefaultPrefix+"/", testAuth(srv))
			return mux
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adaptertest.Run(t, adaptertest.Framework{
				Identify: identify,
				Start: func(t *testing.T, srv *live.Server, _ live.Options) string {
					return serve(t, tt.build(srv))
				},
			})
		})
	}
}

func TestDocs(t *testing.T) {
	adaptertest.CheckSnippets(t, "../..", "docs/adapters.md", "adapters/chi")
}
