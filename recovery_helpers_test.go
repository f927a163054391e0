package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// recTimeout bounds every wait of the recovery tests.
const recTimeout = 5 * time.Second

// recRuns counts action executions of the recovery test components, per
// server.
type recRuns struct{ n atomic.Int64 }

// RecCounter is a per-connection counter whose bump action counts its runs.
type RecCounter struct {
	live.Base
	Count int `json:"count"`
	runs  *recRuns
}

// BumpResult is the result of bump.
type BumpResult struct {
	Count int `json:"count"`
}

func (c *RecCounter) Bump(ctx *live.Ctx) (BumpResult, error) {
	c.runs.n.Add(1)
	c.Count++
	return BumpResult{Count: c.Count}, nil
}

// GateArgs is the payload of gated; its Validate runs before the component
// is locked and can be held by a test (recGate).
type GateArgs struct{}

// recGate, when set, is called by GateArgs.Validate.
var recGate atomic.Pointer[func()]

func (GateArgs) Validate() error {
	if g := recGate.Load(); g != nil {
		(*g)()
	}
	return nil
}

func (c *RecCounter) Gated(ctx *live.Ctx, _ GateArgs) (BumpResult, error) {
	return c.Bump(ctx)
}

// RecTally is a singleton counter shared by every connection.
type RecTally struct {
	live.Base
	Count int `json:"count"`
}

func (c *RecTally) Bump(ctx *live.Ctx) (BumpResult, error) {
	c.Count++
	return BumpResult{Count: c.Count}, nil
}

const recSecret = "recovery-acceptance-secret-0123456789"

// recServer is a live.Server served on a real listener, so that a test can
// stop it and start another on the same address.
type recServer struct {
	srv  *live.Server
	hs   *http.Server
	addr string
	runs *recRuns
	once sync.Once
	done chan struct{}
}

// startRecServer serves a new live.Server on addr ("127.0.0.1:0" for any
// port) with the recovery components registered. It is stopped at the end
// of the test if not before.
func startRecServer(t *testing.T, addr string, opts live.Options) *recServer {
	t.Helper()
	if opts.StateSecret == nil {
		opts.StateSecret = []byte(recSecret)
	}
	if opts.SignatureRenewInterval == 0 {
		opts.SignatureRenewInterval = 5 * time.Millisecond
	}
	opts.PingInterval = -1
	srv, err := live.New(opts)
	must(t, err)
	runs := &recRuns{}
	must(t, live.Register(srv, live.Component[RecCounter]{
		Name:     "RecCounter",
		Actions:  []string{"bump", "gated"},
		Writable: []string{"count"},
		New:      func() *RecCounter { return &RecCounter{runs: runs} },
	}))
	must(t, live.Register(srv, live.Component[RecTally]{
		Name:      "RecTally",
		Actions:   []string{"bump"},
		Singleton: true,
	}))
	var ln net.Listener
	deadline := time.Now().Add(recTimeout)
	for {
		// The port of a server just stopped may take a moment to be free.
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, err)
	rs := &recServer{
		srv:  srv,
		hs:   &http.Server{Handler: srv, ReadHeaderTimeout: recTimeout},
		addr: ln.Addr().String(),
		runs: runs,
		done: make(chan struct{}),
	}
	go func() {
		defer close(rs.done)
		_ = rs.hs.Serve(ln)
	}()
	t.Cleanup(func() { rs.stop(t) })
	return rs
}

// stop shuts the live server down (closing its connections with 1001) and
// closes the listener.
func (rs *recServer) stop(t *testing.T) {
	t.Helper()
	rs.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), recTimeout)
		defer cancel()
		if err := rs.srv.Shutdown(ctx); err != nil {
			t.Errorf("live shutdown: %v", err)
		}
		if err := rs.hs.Shutdown(ctx); err != nil {
			t.Errorf("http shutdown: %v", err)
		}
		<-rs.done
	})
}

func (rs *recServer) url() string { return "ws://" + rs.addr + "/api/live/ws" }

// netCutter is the network between a Go client and the server: the test can
// cut every open connection, refuse new ones, or cut a connection as soon as
// it delivers a given byte sequence to the client.
type netCutter struct {
	mu     sync.Mutex
	conns  []*cutConn
	refuse bool
	marker []byte // armed: the next read containing it cuts its connection
	dials  int
	tr     *http.Transport
}

func newNetCutter(t *testing.T) *netCutter {
	n := &netCutter{}
	n.tr = &http.Transport{DialContext: n.dial}
	t.Cleanup(n.tr.CloseIdleConnections)
	return n
}

var errRefused = errors.New("netCutter: connection refused by the test")

func (n *netCutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	n.dials++
	refuse := n.refuse
	n.mu.Unlock()
	if refuse {
		return nil, errRefused
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: c, n: n}
	n.mu.Lock()
	n.conns = append(n.conns, cc)
	n.mu.Unlock()
	return cc, nil
}

func (n *netCutter) httpClient() *http.Client { return &http.Client{Transport: n.tr} }

// cut closes every connection; with refuse, new ones fail until allow.
func (n *netCutter) cut(refuse bool) {
	n.mu.Lock()
	conns := n.conns
	n.conns = nil
	n.refuse = refuse
	n.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (n *netCutter) allow() {
	n.mu.Lock()
	n.refuse = false
	n.mu.Unlock()
}

// cutOn arms a cut of the connection that next delivers marker.
func (n *netCutter) cutOn(marker string) {
	n.mu.Lock()
	n.marker = []byte(marker)
	n.mu.Unlock()
}

func (n *netCutter) dialCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials
}

type cutConn struct {
	net.Conn
	n *netCutter
}

func (c *cutConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	if k > 0 {
		c.n.mu.Lock()
		hit := c.n.marker != nil && bytes.Contains(p[:k], c.n.marker)
		if hit {
			c.n.marker = nil
		}
		c.n.mu.Unlock()
		if hit { // the bytes never reach the client
			_ = c.Conn.Close()
			return 0, net.ErrClosed
		}
	}
	return k, err
}

// stateLog records a client's connection states.
type stateLog struct {
	mu     sync.Mutex
	states []client.ConnState
	ch     chan struct{} // signalled on every state
}

func newStateLog() *stateLog { return &stateLog{ch: make(chan struct{}, 1)} }

func (l *stateLog) record(s client.ConnState) {
	l.mu.Lock()
	l.states = append(l.states, s)
	l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

func (l *stateLog) snapshot() []client.ConnState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]client.ConnState(nil), l.states...)
}

// waitCount waits until state s has been recorded n times.
func (l *stateLog) waitCount(t *testing.T, s client.ConnState, n int) {
	t.Helper()
	deadline := time.After(recTimeout)
	for {
		got := 0
		for _, x := range l.snapshot() {
			if x == s {
				got++
			}
		}
		if got >= n {
			return
		}
		select {
		case <-l.ch:
		case <-deadline:
			t.Fatalf("state %v seen %d times, want %d (states %v)", s, got, n, l.snapshot())
		}
	}
}

// recoveryLog records a component's recovery events.
type recoveryLog struct {
	mu  sync.Mutex
	evs []client.Recovery
}

func (l *recoveryLog) record(ev client.Recovery) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *recoveryLog) events() []client.Recovery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]client.Recovery(nil), l.evs...)
}

// recClientOptions returns client options with fast reconnection through
// cutter (nil: direct) that record states into log (nil: none).
func recClientOptions(cutter *netCutter, log *stateLog) *client.Options {
	o := &client.Options{
		RequestTimeout: recTimeout,
		Reconnect:      client.ReconnectOptions{InitialDelay: 2 * time.Millisecond, MaxDelay: 20 * time.Millisecond},
	}
	if cutter != nil {
		o.HTTPClient = cutter.httpClient()
	}
	if log != nil {
		o.OnStateChange = log.record
	}
	return o
}

// dialRec connects a Go client and closes it at the end of the test.
func dialRec(t *testing.T, url string, opts *client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), recTimeout)
	defer cancel()
	c, err := client.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func recCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), recTimeout)
	t.Cleanup(cancel)
	return ctx
}

// signedCount decodes the count held in a signed state's data.
func signedCount(t *testing.T, signed json.RawMessage) (int, bool) {
	t.Helper()
	var ss struct {
		Data       string `json:"data"`
		Compressed bool   `json:"compressed"`
		Encrypted  bool   `json:"encrypted"`
	}
	if err := json.Unmarshal(signed, &ss); err != nil || ss.Compressed || ss.Encrypted {
		return 0, false
	}
	var state struct {
		Count *int `json:"count"`
	}
	if err := json.Unmarshal([]byte(ss.Data), &state); err != nil || state.Count == nil {
		return 0, false
	}
	return *state.Count, true
}

// waitSignedCount waits until m's newest signed state holds count n (the
// server renews signatures shortly after changes).
func waitSignedCount(t *testing.T, m *client.Component, n int) {
	t.Helper()
	deadline := time.Now().Add(recTimeout)
	for {
		if got, ok := signedCount(t, m.SignedState()); ok && got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("signed state %s never reached count %d", m.SignedState(), n)
		}
		time.Sleep(time.Millisecond) // polling a value with no change notification
	}
}

// waitUntil polls cond until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(recTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling, not synchronisation by delay
	}
}

func waitCount(t *testing.T, m *client.Component, n int) {
	t.Helper()
	if err := m.WaitFor(recCtx(t), func(s map[string]any) bool { return s["count"] == float64(n) }); err != nil {
		t.Fatalf("waiting for count %d (state %v): %v", n, m.State(), err)
	}
}
