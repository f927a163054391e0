package live_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// The Go client works over all three transports.
func TestGoClientOverEveryTransport(t *testing.T) {
	for _, tr := range []client.Transport{client.TransportWebSocket, client.TransportSSE, client.TransportHTTP} {
		t.Run(tr.String(), func(t *testing.T) {
			srv, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{PollTimeout: time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
			c, err := client.Dial(ctx, url, &client.Options{Transport: tr, Reconnect: client.ReconnectOptions{Disabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			comp, err := c.Mount(ctx, "Counter", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				if _, err := comp.Call(ctx, "increment", nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := comp.State()["count"]; got != float64(5) {
				t.Fatalf("count %v", got)
			}
			if _, err := comp.Call(ctx, "fail", nil); err == nil || !strings.Contains(err.Error(), "nope") {
				t.Fatalf("fail: %v", err)
			}
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			if err := srv.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("client not closed by shutdown")
			}
			t.Logf("%s: Err=%v status=%d", tr, c.Err(), websocket.CloseStatus(c.Err()))
			// A long-poll client that is between polls when the server
			// shuts down finds its session gone (1006 "session lost")
			// instead of reading the 1001: both end the client.
			status := websocket.CloseStatus(c.Err())
			if status != 1001 && !(tr == client.TransportHTTP && status == 1006) {
				t.Fatalf("status %d", status)
			}
			c.Close()
		})
	}
}

// Closing the Go client ends its server connection on every transport.
func TestGoClientCloseOverEveryTransport(t *testing.T) {
	for _, tr := range []client.Transport{client.TransportWebSocket, client.TransportSSE, client.TransportHTTP} {
		t.Run(tr.String(), func(t *testing.T) {
			srv, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
			c, err := client.Dial(ctx, url, &client.Options{Transport: tr, Reconnect: client.ReconnectOptions{Disabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Mount(ctx, "Counter", nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "conn gone", func() bool { return srv.Stats().Connections == 0 })
		})
	}
}
