package live_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	live "github.com/live-go/live"
)

// serveMem runs srv.ServeSocket on a memSocket in the background and
// returns the socket and a channel closed when ServeSocket returns.
func serveMem(t *testing.T, srv *live.Server) (*memSocket, chan struct{}) {
	t.Helper()
	sock := newMemSocket()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeSocket(context.Background(), sock, live.Request{})
	}()
	return sock, done
}

// recvMsgs reads one frame from sock and splits it into messages.
func recvMsgs(t *testing.T, sock *memSocket) []map[string]any {
	t.Helper()
	select {
	case f := <-sock.out:
		var msgs []map[string]any
		if strings.HasPrefix(f.data, "[") {
			if err := json.Unmarshal([]byte(f.data), &msgs); err != nil {
				t.Fatal(err)
			}
		} else {
			var m map[string]any
			if err := json.Unmarshal([]byte(f.data), &m); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		return msgs
	case <-time.After(5 * time.Second):
		t.Fatal("no frame from server")
		return nil
	}
}

func newBareServer(t *testing.T, opts live.Options) *live.Server {
	t.Helper()
	opts.StateSecret = []byte("engine-test-secret-engine-test-secret")
	srv, err := live.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	must(t, live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}))
	return srv
}

// A peer that stops answering pings is dropped after one ping interval,
// measured on a fake clock.
func TestDeadPeerDroppedByPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBareServer(t, live.Options{PingInterval: 30 * time.Second})
		sock := newMemSocket()
		sock.noPong = true
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.ServeSocket(context.Background(), sock, live.Request{})
		}()
		<-sock.out // CONNECTION_ESTABLISHED
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("connection dropped before any ping")
		default:
		}
		time.Sleep(30*time.Second + time.Millisecond) // first ping sent
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("connection dropped before the ping timed out")
		default:
		}
		time.Sleep(30 * time.Second) // ping timeout elapses
		<-done
		if srv.Stats().Connections != 0 {
			t.Fatalf("connection still registered: %+v", srv.Stats())
		}
		_ = srv.Shutdown(context.Background())
	})
}

// A peer that answers pings stays connected across many intervals.
func TestLivePeerKeptByPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBareServer(t, live.Options{PingInterval: 30 * time.Second})
		sock, done := serveMem(t, srv)
		<-sock.out
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("healthy connection was dropped")
		default:
		}
		_ = srv.Shutdown(context.Background())
		<-done
		if code, reason := sock.closeStatus(); code != live.CloseGoingAway || reason != "server shutdown" {
			t.Fatalf("close = %d %q, want 1001 server shutdown", code, reason)
		}
	})
}

// The rate limiter refills over (fake) time: after draining the bucket, one
// second buys 50 more frames.
func TestRateLimitRefillsOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBareServer(t, live.Options{PingInterval: -1})
		sock, done := serveMem(t, srv)
		<-sock.out
		count := func(n int) (limited int) {
			for range n {
				sock.in <- []byte(`{"type":"PING"}`)
			}
			synctest.Wait()
			for {
				select {
				case f := <-sock.out:
					limited += strings.Count(f.data, "Rate limit exceeded")
				default:
					return limited
				}
			}
		}
		if got := count(100); got != 0 {
			t.Fatalf("first 100 frames: %d limited, want 0", got)
		}
		if got := count(10); got != 10 {
			t.Fatalf("frames over the burst: %d limited, want 10", got)
		}
		time.Sleep(time.Second)
		if got := count(60); got != 10 {
			t.Fatalf("after 1s at 50/s: %d of 60 limited, want 10", got)
		}
		_ = srv.Shutdown(context.Background())
		<-done
	})
}

func TestShutdownFlushesAndCloses1001(t *testing.T) {
	srv := newBareServer(t, live.Options{})
	sock, done := serveMem(t, srv)
	recvMsgs(t, sock)
	sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"r1"}`)
	var id string
	for id == "" {
		for _, m := range recvMsgs(t, sock) {
			if m["type"] == "MESSAGE_RESPONSE" {
				id = m["result"].(map[string]any)["componentId"].(string)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if code, reason := sock.closeStatus(); code != 1001 || reason != "server shutdown" {
		t.Fatalf("close = %d %q", code, reason)
	}
	if st := srv.Stats(); st.Connections != 0 || st.Components != 0 {
		t.Fatalf("after shutdown: %+v", st)
	}
	// New connections are refused with 1001.
	sock2 := newMemSocket()
	if err := srv.ServeSocket(context.Background(), sock2, live.Request{}); err == nil {
		t.Fatal("ServeSocket accepted a connection after Shutdown")
	}
	if code, _ := sock2.closeStatus(); code != 1001 {
		t.Fatalf("late connection closed with %d, want 1001", code)
	}
}
