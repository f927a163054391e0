package live

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// stallSocket is a Socket whose writes return at once until stall is set;
// then a write blocks until CloseNow.
type stallSocket struct {
	mu     sync.Mutex
	stall  bool
	closed chan struct{}
	once   sync.Once
}

func (s *stallSocket) Read(ctx context.Context, _ int64) (bool, []byte, bool, error) {
	<-s.closed
	return false, nil, false, errors.New("closed")
}

func (s *stallSocket) Write(context.Context, bool, []byte) error {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall {
		<-s.closed
		return errors.New("closed")
	}
	return nil
}

func (s *stallSocket) Close(int, string) error { return s.CloseNow() }

func (s *stallSocket) CloseNow() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// The write watchdog drops a connection whose write has lasted
// WriteTimeout, counted from that write's own start: not from an earlier
// write that armed the timer, and also after the timer found no write and
// disarmed. The bounds asserted are lower bounds (the watchdog never fires
// early); the upper one only bounds the wait.
func TestWriteWatchdog(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv, err := New(Options{StateSecret: []byte("watchdog-test-secret-watchdog-test"), WriteTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()
	for _, tc := range []struct {
		name  string
		setup func(c *conn) // writes before the stalled one
	}{
		{"armed by an earlier write", func(c *conn) {
			_ = c.write(false, []byte("x")) // arms the timer at t0
			time.Sleep(timeout / 2)         // it fires at t0+timeout, during the stalled write
		}},
		{"after the timer disarmed", func(c *conn) {
			for range 20 {
				_ = c.write(false, []byte("x"))
			}
			deadline := time.Now().Add(10 * time.Second)
			for c.wArmed.Load() { // the timer fires, finds no write, disarms
				if time.Now().After(deadline) {
					t.Fatal("watchdog never disarmed")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := &stallSocket{closed: make(chan struct{})}
			c := srv.newConn(context.Background(), sock, Request{})
			tc.setup(c)
			sock.mu.Lock()
			sock.stall = true
			sock.mu.Unlock()
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- c.write(false, []byte("stuck")) }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("stalled write returned without error")
				}
			case <-time.After(20 * time.Second):
				t.Fatal("stalled write was never dropped")
			}
			if d := time.Since(start); d < timeout {
				t.Fatalf("dropped %v after the write began, before WriteTimeout %v", d, timeout)
			}
			c.wtimer.Stop()
		})
	}
}
