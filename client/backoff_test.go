package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

func TestBackoffDelay(t *testing.T) {
	def, err := (&Options{}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	noJitter := def.Reconnect
	noJitter.Jitter = -1
	seconds := func(ds ...float64) []time.Duration {
		out := make([]time.Duration, len(ds))
		for i, d := range ds {
			out[i] = time.Duration(d * float64(time.Second))
		}
		return out
	}
	tests := []struct {
		name string
		r    ReconnectOptions
		rnd  float64
		want []time.Duration // attempts 1, 2, ...
	}{
		{"default, no jitter", noJitter, 0.9, seconds(1, 2, 4, 8, 16, 16, 16)},
		{"default jitter, lowest draw", def.Reconnect, 0, seconds(1, 2, 4, 8, 16, 16)},
		{"default jitter, middle draw", def.Reconnect, 0.5, seconds(0.75, 1.5, 3, 6, 12, 12)},
		{"full jitter range", ReconnectOptions{InitialDelay: time.Second, MaxDelay: 4 * time.Second, Jitter: 1}, 0.25, seconds(0.75, 1.5, 3, 3)},
		{"cap not a power of two", ReconnectOptions{InitialDelay: 3 * time.Second, MaxDelay: 10 * time.Second, Jitter: -1}, 0, seconds(3, 6, 10, 10)},
		{"initial equals cap", ReconnectOptions{InitialDelay: 5 * time.Second, MaxDelay: 5 * time.Second, Jitter: -1}, 0, seconds(5, 5, 5)},
		{"huge cap does not overflow", ReconnectOptions{InitialDelay: time.Hour, MaxDelay: 1<<63 - 1, Jitter: -1}, 0,
			[]time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []time.Duration
			for n := 1; n <= len(tc.want); n++ {
				got = append(got, backoffDelay(tc.r, n, tc.rnd))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("delays (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("attempt 1000 stays at the cap", func(t *testing.T) {
		if got := backoffDelay(noJitter, 1000, 0); got != 16*time.Second {
			t.Errorf("delay = %v", got)
		}
	})
	t.Run("every draw stays within (d(1-J), d]", func(t *testing.T) {
		for _, rnd := range []float64{0, 0.1, 0.5, 0.999999, 1} {
			for n := 1; n < 8; n++ {
				d := backoffDelay(def.Reconnect, n, rnd)
				nominal := backoffDelay(noJitter, n, 0)
				if d > nominal || d < nominal/2 {
					t.Errorf("attempt %d draw %v: %v outside [%v, %v]", n, rnd, d, nominal/2, nominal)
				}
			}
		}
	})
}

// fakeConn is an in-memory connection for tests inside a synctest bubble.
type fakeConn struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once
	code   websocket.StatusCode // close code the reader reports; 0: none
}

func newFakeConn(frames ...string) *fakeConn {
	f := &fakeConn{in: make(chan []byte, 16), closed: make(chan struct{})}
	for _, fr := range frames {
		f.in <- []byte(fr)
	}
	return f
}

func (f *fakeConn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	select {
	case b := <-f.in:
		return websocket.MessageText, b, nil
	case <-f.closed:
		if f.code != 0 {
			return 0, nil, websocket.CloseError{Code: f.code}
		}
		return 0, nil, errors.New("fake: connection dropped")
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
}

func (f *fakeConn) Write(ctx context.Context, _ websocket.MessageType, _ []byte) error {
	select {
	case <-f.closed:
		return errors.New("fake: write on a closed connection")
	default:
		return nil
	}
}

func (f *fakeConn) drop() { f.once.Do(func() { close(f.closed) }) }

func (f *fakeConn) Close(websocket.StatusCode, string) error { f.drop(); return nil }
func (f *fakeConn) CloseNow() error                          { f.drop(); return nil }

const established = `{"type":"CONNECTION_ESTABLISHED","connectionId":"fake0001"}`

// fakeNet hands out scripted connections and records when each dial
// happened (in the bubble's fake time).
type fakeNet struct {
	mu    sync.Mutex
	start time.Time
	dials []time.Duration // since start
	plan  func(n int) (wsConn, error)
	conns []*fakeConn
}

func (f *fakeNet) dial(context.Context) (wsConn, error) {
	f.mu.Lock()
	f.dials = append(f.dials, time.Since(f.start))
	n := len(f.dials)
	f.mu.Unlock()
	c, err := f.plan(n)
	if fc, ok := c.(*fakeConn); ok {
		f.mu.Lock()
		f.conns = append(f.conns, fc)
		f.mu.Unlock()
	}
	return c, err
}

func (f *fakeNet) conn(i int) *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[i]
}

func (f *fakeNet) since() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.dials...)
}

// startFake starts a client on net (inside the caller's bubble).
func startFake(t *testing.T, fn *fakeNet, opts Options, jitter float64) (*Client, *stateRec) {
	t.Helper()
	rec := newStateRec()
	opts.OnStateChange = rec.record
	o, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := newClient("ws://fake/api/live/ws", o)
	c.dial = fn.dial
	c.jitter = func() float64 { return jitter }
	fn.start = time.Now()
	if err := c.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, rec
}

var errDialRefused = errors.New("fake: connection refused")

func TestReconnectBackoffTiming(t *testing.T) {
	tests := []struct {
		name   string
		jitter float64 // ReconnectOptions.Jitter
		draw   float64 // the jitter source's value
		fails  int     // failed dials after the drop
		want   []time.Duration
	}{
		{"doubling to the 16 s cap", -1, 0, 7, secondsList(0, 1, 3, 7, 15, 31, 47, 63, 79)},
		{"jittered", 0.5, 0.5, 4, secondsList(0, 0.75, 2.25, 5.25, 11.25, 23.25)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fn := &fakeNet{plan: func(n int) (wsConn, error) {
					if n == 1 || n > tc.fails+1 {
						return newFakeConn(established), nil
					}
					return nil, errDialRefused
				}}
				c, rec := startFake(t, fn, Options{Reconnect: ReconnectOptions{Jitter: tc.jitter}}, tc.draw)
				defer c.Close()
				fn.conn(0).drop()
				synctest.Wait()
				rec.waitUntil(t, StateConnected, 2, nil)
				if diff := cmp.Diff(tc.want, fn.since()); diff != "" {
					t.Errorf("dial times (-want +got):\n%s", diff)
				}
				// The backoff was reset by the success: the next loss waits
				// one initial delay again.
				at := time.Since(fn.start)
				fn.conn(1).drop()
				synctest.Wait()
				rec.waitUntil(t, StateConnected, 3, nil)
				got := fn.since()
				first := backoffDelay(c.opts.Reconnect, 1, tc.draw)
				if d := got[len(got)-1] - at; d != first {
					t.Errorf("after a success the next attempt came %v after the loss, want %v", d, first)
				}
			})
		})
	}
}

func secondsList(ds ...float64) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d * float64(time.Second))
	}
	return out
}

func TestReconnectGivesUpAfterMaxAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := &fakeNet{plan: func(n int) (wsConn, error) {
			if n == 1 {
				return newFakeConn(established), nil
			}
			return nil, fmt.Errorf("attempt %d: %w", n, errDialRefused)
		}}
		c, rec := startFake(t, fn, Options{Reconnect: ReconnectOptions{MaxAttempts: 3, Jitter: -1}}, 0)
		fn.conn(0).drop()
		<-c.Done()
		err := c.Err()
		if !errors.Is(err, ErrClosed) || !errors.Is(err, errDialRefused) {
			t.Errorf("Err() = %v, want ErrClosed wrapping the last dial error", err)
		}
		if n := len(fn.since()); n != 4 {
			t.Errorf("%d dials, want the first and 3 attempts", n)
		}
		want := []ConnState{StateConnecting, StateConnected, StateReconnecting, StateClosed}
		rec.waitUntil(t, StateClosed, 1, nil)
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close after the end = %v", err)
		}
	})
}

func TestCloseStopsBackoffAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := &fakeNet{plan: func(n int) (wsConn, error) {
			if n == 1 {
				return newFakeConn(established), nil
			}
			return nil, errDialRefused
		}}
		c, rec := startFake(t, fn, Options{Reconnect: ReconnectOptions{InitialDelay: time.Hour}}, 0)
		fn.conn(0).drop()
		synctest.Wait() // the supervisor sleeps in its first backoff
		if c.State() != StateReconnecting {
			t.Fatalf("State() = %v", c.State())
		}
		before := time.Now()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(before); waited != 0 {
			t.Errorf("Close waited %v of fake time for the backoff", waited)
		}
		if n := len(fn.since()); n != 1 {
			t.Errorf("%d dials, want only the first", n)
		}
		if websocket.CloseStatus(c.Err()) != websocket.StatusNormalClosure {
			t.Errorf("Err() = %v", c.Err())
		}
		want := []ConnState{StateConnecting, StateConnected, StateReconnecting, StateClosed}
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
	})
}

func TestRequestDuringReconnectWaitsForItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := &fakeNet{plan: func(n int) (wsConn, error) {
			if n == 1 {
				return newFakeConn(established), nil
			}
			return nil, errDialRefused
		}}
		c, _ := startFake(t, fn, Options{Reconnect: ReconnectOptions{InitialDelay: time.Hour}, RequestTimeout: 3 * time.Second}, 0)
		defer c.Close()
		fn.conn(0).drop()
		synctest.Wait()
		before := time.Now()
		_, err := c.Request(context.Background(), map[string]any{"type": "AUTH"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Request while reconnecting = %v, want the RequestTimeout deadline", err)
		}
		if waited := time.Since(before); waited != 3*time.Second {
			t.Errorf("Request waited %v, want RequestTimeout (3s)", waited)
		}
		if err := c.Send(context.Background(), map[string]any{"type": "PING"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send while reconnecting = %v", err)
		}
	})
}

func TestCloseCode4003AfterDialEndsClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := &fakeNet{plan: func(n int) (wsConn, error) {
			if n == 1 {
				return newFakeConn(established), nil
			}
			f := newFakeConn() // refused: closed before CONNECTION_ESTABLISHED
			f.code = 4003
			f.drop()
			return f, nil
		}}
		c, _ := startFake(t, fn, Options{}, 0)
		fn.conn(0).drop()
		<-c.Done()
		if websocket.CloseStatus(c.Err()) != 4003 {
			t.Errorf("Err() = %v, want close status 4003", c.Err())
		}
		if n := len(fn.since()); n != 2 {
			t.Errorf("%d dials, want 2 (no retry after 4003)", n)
		}
	})
}
