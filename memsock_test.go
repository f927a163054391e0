package live_test

import (
	"context"
	"errors"
	"sync"

	live "github.com/live-go/live"
)

// memSocket is an in-memory live.Socket: the test plays the client by
// sending frames into in and reading frames from out (or a sink func).
type memSocket struct {
	in     chan []byte
	out    chan frameMsg
	sink   func(binary bool, data []byte) // when set, frames go here instead of out
	mu     sync.Mutex
	closed chan struct{}
	code   int
	reason string
	once   sync.Once
	noPong bool // Ping blocks until ctx ends (a dead peer)
}

type frameMsg struct {
	binary bool
	data   string
}

var errMemClosed = errors.New("memsocket closed")

func newMemSocket() *memSocket {
	return &memSocket{in: make(chan []byte, 16), out: make(chan frameMsg, 1024), closed: make(chan struct{})}
}

var _ live.Socket = (*memSocket)(nil)
var _ live.Pinger = (*memSocket)(nil)

func (m *memSocket) Read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	select {
	case b := <-m.in:
		if int64(len(b)) > limit {
			return false, nil, true, nil
		}
		return false, b, false, nil
	case <-m.closed:
		return false, nil, false, errMemClosed
	case <-ctx.Done():
		return false, nil, false, ctx.Err()
	}
}

func (m *memSocket) Write(ctx context.Context, binary bool, data []byte) error {
	select {
	case <-m.closed:
		return errMemClosed
	default:
	}
	if m.sink != nil {
		m.sink(binary, data)
		return nil
	}
	select {
	case m.out <- frameMsg{binary, string(data)}:
		return nil
	case <-m.closed:
		return errMemClosed
	}
}

func (m *memSocket) Close(code int, reason string) error {
	m.once.Do(func() {
		m.mu.Lock()
		m.code, m.reason = code, reason
		m.mu.Unlock()
		close(m.closed)
	})
	return nil
}

func (m *memSocket) CloseNow() error { return m.Close(0, "") }

func (m *memSocket) Ping(ctx context.Context) error {
	if m.noPong {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (m *memSocket) closeStatus() (int, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.code, m.reason
}
