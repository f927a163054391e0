package livegin_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	live "github.com/live-go/live"
	livegin "github.com/live-go/live/adapters/gin"
	"github.com/live-go/live/adapters/internal/adaptertest"
	"github.com/live-go/live/client"
)

// testAuth is the suite's auth convention as a Gin middleware.
func testAuth(c *gin.Context) {
	if c.GetHeader(adaptertest.DenyHeader) != "" {
		c.AbortWithStatus(http.StatusUnauthorized)
		return
	}
	if user := c.GetHeader(adaptertest.UserHeader); user != "" {
		c.Set(livegin.IdentityKey, &live.Identity{ID: user})
	}
	c.Next()
}

// startGin serves srv with gin.Engine on a real http.Server.
func startGin(t *testing.T, srv *live.Server, _ live.Options) string {
	t.Helper()
	r := gin.New()
	r.Use(testAuth)
	livegin.Mount(r, live.DefaultPrefix, srv)
	return serve(t, r)
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
	adaptertest.Run(t, adaptertest.Framework{Start: startGin, Identify: livegin.Identify})
}

// TestMountInGroup mounts under a router group: the group's base path and
// the prefix together make the server's prefix.
func TestMountInGroup(t *testing.T) {
	adaptertest.Run(t, adaptertest.Framework{
		Identify:   livegin.Identify,
		Transports: []client.Transport{client.TransportWebSocket},
		Start: func(t *testing.T, srv *live.Server, _ live.Options) string {
			r := gin.New()
			api := r.Group("/api", testAuth)
			livegin.Mount(api, "/live", srv)
			return serve(t, r)
		},
	})
}

func TestDocs(t *testing.T) {
	adaptertest.CheckSnippets(t, "../..", "docs/adapters.md", "adapters/gin")
}
