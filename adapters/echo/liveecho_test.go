package liveecho_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	live "github.com/live-go/live"
	liveecho "github.com/live-go/live/adapters/echo"
	"github.com/live-go/live/adapters/internal/adaptertest"
	"github.com/live-go/live/client"
)

// testAuth is the suite's auth convention as an Echo middleware.
func testAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Header.Get(adaptertest.DenyHeader) != "" {
			return echo.ErrUnauthorized
		}
		if user := c.Request().Header.Get(adaptertest.UserHeader); user != "" {
			c.Set(liveecho.IdentityKey, &live.Identity{ID: user})
		}
		return next(c)
	}
}

// serve runs e on a real listener until the test ends.
func serve(t *testing.T, e *echo.Echo) string {
	t.Helper()
	e.HideBanner, e.HidePort = true, true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.Listener = ln
	done := make(chan error, 1)
	go func() { done <- e.Start("") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Errorf("echo Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("echo Start: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestSuite(t *testing.T) {
	adaptertest.Run(t, adaptertest.Framework{
		Identify: liveecho.Identify,
		Start: func(t *testing.T, srv *live.Server, _ live.Options) string {
			e := echo.New()
			e.Use(testAuth)
			liveecho.Mount(e, live.DefaultPrefix, srv)
			return serve(t, e)
		},
	})
}

// TestMountInGroup mounts under a group: the group's prefix and the prefix
// given to Mount together make the server's prefix.
func TestMountInGroup(t *testing.T) {
	adaptertest.Run(t, adaptertest.Framework{
		Identify:   liveecho.Identify,
		Transports: []client.Transport{client.TransportWebSocket},
		Start: func(t *testing.T, srv *live.Server, _ live.Options) string {
			e := echo.New()
			liveecho.Mount(e.Group("/api", testAuth), "/live", srv)
			return serve(t, e)
		},
	})
}

func TestDocs(t *testing.T) {
	adaptertest.CheckSnippets(t, "../..", "docs/adapters.md", "adapters/echo")
}
