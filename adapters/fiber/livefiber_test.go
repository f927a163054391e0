package livefiber_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gofiber/fiber/v3"

	live "github.com/live-go/live"
	livefiber "github.com/live-go/live/adapters/fiber"
	"github.com/live-go/live/adapters/internal/adaptertest"
	"github.com/live-go/live/client"
)

// testAuth is the suite's auth convention as a Fiber middleware.
func testAuth(c fiber.Ctx) error {
	if c.Get(adaptertest.DenyHeader) != "" {
		return fiber.ErrUnauthorized
	}
	if user := c.Get(adaptertest.UserHeader); user != "" {
		c.Locals(livefiber.IdentityKey, &live.Identity{ID: user})
	}
	return c.Next()
}

// serve runs app on a real listener until the test ends.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := app.ShutdownWithContext(ctx); err != nil {
			t.Errorf("fiber Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("fiber Listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestSuite(t *testing.T) {
	adaptertest.Run(t, adaptertest.Framework{
		Identify: livefiber.Identify,
		Start: func(t *testing.T, srv *live.Server, opts live.Options) string {
			app := fiber.New()
			app.Use(testAuth)
			livefiber.Mount(app, live.DefaultPrefix, srv, livefiber.Options{AllowedOrigins: opts.AllowedOrigins})
			return serve(t, app)
		},
	})
}

// TestMountInGroup mounts under a group: the group's prefix and the prefix
// given to Mount together make the server's prefix.
func TestMountInGroup(t *testing.T) {
	adaptertest.Run(t, adaptertest.Framework{
		Identify:   livefiber.Identify,
		Transports: []client.Transport{client.TransportWebSocket, client.TransportHTTP},
		Start: func(t *testing.T, srv *live.Server, opts live.Options) string {
			app := fiber.New()
			livefiber.Mount(app.Group("/api", testAuth), "/live", srv, livefiber.Options{AllowedOrigins: opts.AllowedOrigins})
			return serve(t, app)
		},
	})
}

// startFiber serves a server made with opts through Fiber and returns it
// with its WebSocket URL.
func startFiber(t *testing.T, opts live.Options) (*live.Server, string) {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	srv, err := live.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Register(srv, live.Component[adaptertest.Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	livefiber.Mount(app, live.DefaultPrefix, srv, livefiber.Options{AllowedOrigins: opts.AllowedOrigins})
	base := serve(t, app)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv, "ws" + strings.TrimPrefix(base, "http") + live.DefaultPrefix + "/ws"
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readType reads frames (one message or an array of them) until a message
// of type typ and returns it.
func readType(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	ctx := testContext(t)
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var msgs []map[string]any
		if err := json.Unmarshal(data, &msgs); err != nil {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("frame %q: %v", data, err)
			}
			msgs = []map[string]any{m}
		}
		for _, m := range msgs {
			if m["type"] == typ {
				return m
			}
		}
	}
}

// TestMessageTooLarge sends a frame over MaxMessageSize through Fiber's
// WebSocket: it is refused and the connection stays usable.
func TestMessageTooLarge(t *testing.T) {
	_, wsURL := startFiber(t, live.Options{MaxMessageSize: 1024})
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readType(t, c, "CONNECTION_ESTABLISHED")
	big := `{"type":"AUTH","payload":"` + strings.Repeat("x", 4096) + `"}`
	if err := c.Write(ctx, websocket.MessageText, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if m := readType(t, c, "ERROR"); m["error"] != "Message too large" {
		t.Fatalf("ERROR = %v, want Message too large", m)
	}
	mount := `{"type":"COMPONENT_MOUNT","requestId":"r1","expectResponse":true,"payload":{"component":"Counter","props":{}}}`
	if err := c.Write(ctx, websocket.MessageText, []byte(mount)); err != nil {
		t.Fatal(err)
	}
	if m := readType(t, c, "MESSAGE_RESPONSE"); m["requestId"] != "r1" || m["success"] != true {
		t.Fatalf("mount reply = %v", m)
	}
}

// TestShutdownClosesWebSockets checks that Server.Shutdown reaches the
// connections the adapter serves: close code 1001.
func TestShutdownClosesWebSockets(t *testing.T) {
	srv, wsURL := startFiber(t, live.Options{})
	ctx := testContext(t)
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readType(t, c, "CONNECTION_ESTABLISHED")
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(ctx) }()
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != live.CloseGoingAway {
		t.Fatalf("close status = %d (%v), want %d", got, err, live.CloseGoingAway)
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestNotAnUpgrade sends plain requests to the WebSocket route.
func TestNotAnUpgrade(t *testing.T) {
	_, wsURL := startFiber(t, live.Options{})
	httpURL := "http" + strings.TrimPrefix(wsURL, "ws")
	tests := []struct {
		method string
		want   int
	}{
		{http.MethodGet, http.StatusUpgradeRequired},
		{http.MethodPost, http.StatusUpgradeRequired}, // the Server's own endpoint answers
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			req, err := http.NewRequestWithContext(testContext(t), tt.method, httpURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s /ws: status %d, want %d", tt.method, resp.StatusCode, tt.want)
			}
		})
	}
}

func TestDocs(t *testing.T) {
	adaptertest.CheckSnippets(t, "../..", "docs/adapters.md", "adapters/fiber")
}
