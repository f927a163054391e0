// Package adaptertest is the end-to-end suite that every framework adapter
// of live passes: it serves a live.Server through the framework's real HTTP
// server on a loopback port, connects with the Go client over each
// transport, mounts a component, calls actions and waits for the deltas, and
// checks that origin rules and the identity set by the framework's
// middleware reach the engine.
//
// The suite fixes a small convention that each adapter's test implements
// with its framework's own middleware: a request carrying UserHeader is
// authenticated as that user (the middleware stores a *live.Identity in the
// framework's context, where the adapter picks it up), and a request
// carrying DenyHeader is refused by the middleware with 401 before it
// reaches live.
package adaptertest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// The convention of the suite's auth middleware and origins.
const (
	// UserHeader names the request header whose value the framework's auth
	// middleware turns into the caller's identity ID.
	UserHeader = "X-Live-Test-User"
	// DenyHeader makes the framework's auth middleware refuse the request
	// with status 401.
	DenyHeader = "X-Live-Test-Deny"
	// AllowedOrigin is the only browser origin the suite's server admits.
	AllowedOrigin = "http://allowed.example"
	// ForeignOrigin is an origin the server must refuse (close 4003).
	ForeignOrigin = "http://foreign.example"
)

// timeout bounds every wait of the suite.
const timeout = 10 * time.Second

// Framework plugs one framework adapter into the suite.
type Framework struct {
	// Start serves srv through the framework on a new 127.0.0.1:0 listener,
	// with every route of srv under live.DefaultPrefix and the suite's auth
	// middleware (UserHeader, DenyHeader) in front of them. opts are the
	// options srv was created with. It returns the base URL
	// ("http://127.0.0.1:PORT") and registers the server's stop with
	// t.Cleanup.
	Start func(t *testing.T, srv *live.Server, opts live.Options) string
	// Identify is the adapter's Options.Identify bridge: it returns the
	// identity the middleware stored for the opening request.
	Identify func(ctx context.Context, r *live.Request) (*live.Identity, error)
	// Transports lists the client transports to test. Default: WebSocket,
	// SSE and long-polling.
	Transports []client.Transport
}

// Counter is the component the suite mounts.
type Counter struct {
	live.Base
	Count int `json:"count"`
}

// Increment adds one to Count and returns the new value.
func (c *Counter) Increment(*live.Ctx) (int, error) {
	c.Count++
	return c.Count, nil
}

// Whoami returns the caller's identity ID, or "" when anonymous.
func (c *Counter) Whoami(ctx *live.Ctx) (string, error) {
	if id := ctx.Identity(); id != nil {
		return id.ID, nil
	}
	return "", nil
}

// NewServer returns a server with Counter registered, admitting only
// AllowedOrigin and identifying callers with identify, and the options it
// was created with. It is shut down when the test ends.
func NewServer(t *testing.T, identify func(context.Context, *live.Request) (*live.Identity, error)) (*live.Server, live.Options) {
	t.Helper()
	opts := live.Options{
		AllowedOrigins: []string{AllowedOrigin},
		Identify:       identify,
		Logger:         slog.New(slog.DiscardHandler),
	}
	srv, err := live.New(opts)
	if err != nil {
		t.Fatalf("live.New: %v", err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment", "whoami"}}); err != nil {
		t.Fatalf("live.Register: %v", err)
	}
	return srv, opts
}

// Run runs the suite against fw.
func Run(t *testing.T, fw Framework) {
	t.Helper()
	srv, opts := NewServer(t, fw.Identify)
	base := fw.Start(t, srv, opts)
	// Registered after Start, so it runs before the framework's server
	// stops: live connections are closed first.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	wsURL := "ws" + strings.TrimPrefix(base, "http") + live.DefaultPrefix + "/ws"

	transports := fw.Transports
	if len(transports) == 0 {
		transports = []client.Transport{client.TransportWebSocket, client.TransportSSE, client.TransportHTTP}
	}
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			runTransport(t, wsURL, tr)
			if tr != client.TransportSSE { // an SSE client cannot say goodbye: it drops its stream
				t.Run("close ends the session", func(t *testing.T) {
					checkClientLeft(t, srv, wsURL, tr)
				})
			}
		})
	}
	t.Run("routes", func(t *testing.T) {
		checkRoutes(t, base)
	})
}

func runTransport(t *testing.T, wsURL string, tr client.Transport) {
	t.Run("mount act delta", func(t *testing.T) {
		c := dial(t, wsURL, tr, http.Header{"Origin": {AllowedOrigin}})
		ctx := testContext(t)
		counter, err := c.Mount(ctx, "Counter", nil)
		if err != nil {
			t.Fatalf("Mount: %v", err)
		}
		deltas := make(chan map[string]any, 16)
		defer counter.OnChange(func(_, delta map[string]any) {
			if delta != nil {
				deltas <- delta
			}
		})()
		for want := 1; want <= 2; want++ {
			res, err := counter.Call(ctx, "increment", nil)
			if err != nil {
				t.Fatalf("Call increment: %v", err)
			}
			var got int
			if err := json.Unmarshal(res, &got); err != nil || got != want {
				t.Fatalf("increment result = %s (%v), want %d", res, err, want)
			}
			select {
			case d := <-deltas:
				if d["count"] != float64(want) {
					t.Fatalf("delta = %v, want count %d", d, want)
				}
			case <-ctx.Done():
				t.Fatalf("no STATE_DELTA for increment %d: %v", want, ctx.Err())
			}
		}
		if got := counter.State()["count"]; got != float64(2) {
			t.Fatalf("mirrored count = %v, want 2", got)
		}
	})

	identities := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"identity from middleware", http.Header{"Origin": {AllowedOrigin}, UserHeader: {"alice"}}, "alice"},
		{"anonymous", http.Header{"Origin": {AllowedOrigin}}, ""},
	}
	for _, tt := range identities {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, wsURL, tr, tt.header)
			ctx := testContext(t)
			counter, err := c.Mount(ctx, "Counter", nil)
			if err != nil {
				t.Fatalf("Mount: %v", err)
			}
			res, err := counter.Call(ctx, "whoami", nil)
			if err != nil {
				t.Fatalf("Call whoami: %v", err)
			}
			var got string
			if err := json.Unmarshal(res, &got); err != nil || got != tt.want {
				t.Fatalf("whoami = %s (%v), want %q", res, err, tt.want)
			}
		})
	}

	originRefused := func(t *testing.T, err error) {
		t.Helper()
		if got := websocket.CloseStatus(err); got != live.CloseOriginNotAllowed {
			t.Fatalf("close status = %d (%v), want %d", got, err, live.CloseOriginNotAllowed)
		}
	}
	refusals := []struct {
		name   string
		header http.Header
		check  func(t *testing.T, err error)
	}{
		{"foreign origin", http.Header{"Origin": {ForeignOrigin}, UserHeader: {"alice"}}, originRefused},
		// With AllowedOrigins set, a request without Origin is refused too.
		{"missing origin", http.Header{UserHeader: {"alice"}}, originRefused},
		{"denied by middleware", http.Header{"Origin": {AllowedOrigin}, DenyHeader: {"1"}}, func(t *testing.T, err error) {
			t.Helper()
			if !strings.Contains(err.Error(), "401") {
				t.Fatalf("error = %v, want a 401 refusal", err)
			}
		}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.Dial(testContext(t), wsURL, &client.Options{
				Transport: tr,
				Header:    tt.header,
				Reconnect: client.ReconnectOptions{Disabled: true},
			})
			if err == nil {
				_ = c.Close()
				t.Fatal("Dial succeeded, want a refusal")
			}
			tt.check(t, err)
		})
	}
}

// checkClientLeft closes a client that has a component mounted. Over
// WebSocket (a close with 1000) and long-poll (a close request) the client
// has left, so the server destroys the component at once instead of
// keeping it for a resume.
func checkClientLeft(t *testing.T, srv *live.Server, wsURL string, tr client.Transport) {
	before := srv.Stats()
	c := dial(t, wsURL, tr, http.Header{"Origin": {AllowedOrigin}})
	if _, err := c.Mount(testContext(t), "Counter", nil); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(timeout)
	for srv.Stats().Connections > before.Connections {
		if time.Now().After(deadline) {
			t.Fatal("the connection did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := srv.Stats()
	if more, kept := st.Components-before.Components, st.Detached-before.Detached; more != 0 || kept != 0 {
		t.Fatalf("after Close: %d more components, %d more kept for a resume; want none", more, kept)
	}
}

// checkRoutes fetches the plain HTTP routes through the framework.
func checkRoutes(t *testing.T, base string) {
	tests := []struct {
		path        string
		header      http.Header
		status      int
		contentType string
		body        string
	}{
		{path: "/stats", status: http.StatusOK, contentType: "application/json", body: `"connections"`},
		{path: "/client.js", status: http.StatusOK, contentType: "javascript", body: "export"},
		{path: "/no-such-route", status: http.StatusNotFound},
		{path: "/stats", header: http.Header{DenyHeader: {"1"}}, status: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, base+live.DefaultPrefix+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s: status %d, want %d\n%s", tt.path, resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tt.contentType) {
				t.Errorf("GET %s: Content-Type %q, want %q", tt.path, ct, tt.contentType)
			}
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("GET %s: body lacks %q:\n%.300s", tt.path, tt.body, body)
			}
		})
	}
}

// dial connects a client that never reconnects and is closed when the
// test ends.
func dial(t *testing.T, wsURL string, tr client.Transport, header http.Header) *client.Client {
	t.Helper()
	c, err := client.Dial(testContext(t), wsURL, &client.Options{
		Transport: tr,
		Header:    header,
		Reconnect: client.ReconnectOptions{Disabled: true},
	})
	if err != nil {
		t.Fatalf("Dial %s over %s: %v", wsURL, tr, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil && !errors.Is(err, client.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// testContext returns a context bounded by the suite's timeout and
// cancelled when the test ends.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}
