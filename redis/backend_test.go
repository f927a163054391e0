package liveredis_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
	liveredis "github.com/live-go/live/redis"
	"github.com/redis/go-redis/v9"
)

// inbox collects a subscription's messages.
type inbox struct {
	mu   sync.Mutex
	msgs []string
}

func (b *inbox) add(data []byte) {
	b.mu.Lock()
	b.msgs = append(b.msgs, string(data))
	b.mu.Unlock()
}

func (b *inbox) has(msg string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		if m == msg {
			return true
		}
	}
	return false
}

func (b *inbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name string
		opts liveredis.Options
		want string // error text; empty for success
	}{
		{"unclosed hash tag", liveredis.Options{Prefix: "app{x:"}, "hash tag"},
		{"unreachable", liveredis.Options{Addr: closedAddr(t)}, "ping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := liveredis.New(tc.opts)
			if err == nil {
				_ = c.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
	addr := needRedis(t)
	c := newNode(t, liveredis.Options{Addr: addr, Prefix: "{live-test}:" + cleanPrefix(t, addr)})
	if id := c.NodeID(); len(id) != 8 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Fatalf("default node id %q, want 8 lowercase letters and digits", id)
	}
	if _, err := c.AcquireLease(t.Context(), "k", 0); err == nil {
		t.Fatal("AcquireLease with ttl 0 succeeded")
	}
	if err := c.PutFenced(t.Context(), "k", 1, nil, -time.Second); err == nil {
		t.Fatal("PutFenced with a negative ttl succeeded")
	}
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// The documented key layout, which operators rely on to inspect a live
// cluster.
func TestKeyLayout(t *testing.T) {
	addr := needRedis(t)
	prefix := cleanPrefix(t, addr)
	c := newNode(t, liveredis.Options{Addr: addr, Prefix: prefix, NodeID: "n:1"})
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := t.Context()

	l, err := c.AcquireLease(ctx, "singleton/X", time.Minute)
	mustOK(t, err)
	if v, _ := rdb.Get(ctx, prefix+"lease:{singleton/X}").Result(); v != strconv.FormatUint(l.Token, 10)+":n:1" {
		t.Fatalf("lease value %q, token %d", v, l.Token)
	}
	if v, _ := rdb.Get(ctx, prefix+"token:{singleton/X}").Uint64(); v != l.Token {
		t.Fatalf("token counter %d, lease token %d", v, l.Token)
	}
	if got, err := c.LeaseHolder(ctx, "singleton/X"); err != nil || got.Holder != "n:1" {
		t.Fatalf("LeaseHolder of a node id with a colon = %+v, %v", got, err)
	}
	mustOK(t, c.PutFenced(ctx, "state/X", 9, []byte("v"), 0))
	if m, _ := rdb.HGetAll(ctx, prefix+"kv:state/X").Result(); m["t"] != "9" || m["v"] != "v" {
		t.Fatalf("fenced value stored as %v", m)
	}
	ok, err := c.PutIfAbsent(ctx, "nonce/X", []byte("once"), time.Minute)
	if err != nil || !ok {
		t.Fatalf("PutIfAbsent = %v, %v", ok, err)
	}
	if v, _ := rdb.Get(ctx, prefix+"kv:nonce/X").Result(); v != "once" {
		t.Fatalf("PutIfAbsent value stored as %q", v)
	}
	// A PutIfAbsent value reads back with token 0 and is overwritten by
	// any fenced write.
	if v, tok, err := c.GetFenced(ctx, "nonce/X"); err != nil || string(v) != "once" || tok != 0 {
		t.Fatalf("GetFenced of a PutIfAbsent value = %q, %d, %v", v, tok, err)
	}
	mustOK(t, c.PutFenced(ctx, "nonce/X", 0, []byte("fenced"), 0))
	if v, tok, err := c.GetFenced(ctx, "nonce/X"); err != nil || string(v) != "fenced" || tok != 0 {
		t.Fatalf("GetFenced after overwriting = %q, %d, %v", v, tok, err)
	}
}

// Token counters start from the server clock: losing the counter (as a
// Redis restart without persistence does) still yields higher tokens.
func TestTokensSurviveLostCounter(t *testing.T) {
	addr := needRedis(t)
	prefix := cleanPrefix(t, addr)
	c := newNode(t, liveredis.Options{Addr: addr, Prefix: prefix})
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := t.Context()
	var last uint64
	for round := range 3 {
		l, err := c.AcquireLease(ctx, "singleton/Lost", time.Minute)
		mustOK(t, err)
		if l.Token <= last {
			t.Fatalf("round %d: token %d after %d", round, l.Token, last)
		}
		last = l.Token
		// Lose everything about the lease.
		mustOK(t, rdb.Del(ctx, prefix+"lease:{singleton/Lost}", prefix+"token:{singleton/Lost}").Err())
	}
}

// Clusters with different prefixes share nothing.
func TestPrefixIsolation(t *testing.T) {
	addr := needRedis(t)
	a := newNode(t, liveredis.Options{Addr: addr, Prefix: cleanPrefix(t, addr)})
	b := newNode(t, liveredis.Options{Addr: addr, Prefix: cleanPrefix(t, addr)})
	ctx := t.Context()
	var inA, inB inbox
	sa, err := a.Subscribe(ctx, "live.room.x", inA.add)
	mustOK(t, err)
	defer sa.Close()
	sb, err := b.Subscribe(ctx, "live.room.x", inB.add)
	mustOK(t, err)
	defer sb.Close()
	mustOK(t, a.Publish(ctx, "live.room.x", []byte("a")))
	mustOK(t, b.Publish(ctx, "live.room.x", []byte("b")))
	poll(t, "both own messages", 5*time.Second, func() bool { return inA.has("a") && inB.has("b") })
	if inA.has("b") || inB.has("a") {
		t.Fatal("a message crossed prefixes")
	}
	_, err = a.AcquireLease(ctx, "k", time.Minute)
	mustOK(t, err)
	_, err = b.AcquireLease(ctx, "k", time.Minute)
	mustOK(t, err) // not held under b's prefix
	mustOK(t, a.PutFenced(ctx, "k", 5, []byte("a"), 0))
	if _, _, err := b.GetFenced(ctx, "k"); !errors.Is(err, live.ErrNotFound) {
		t.Fatalf("GetFenced under another prefix: %v", err)
	}
}

// A subscription whose handler falls behind keeps MaxPending messages and
// drops the rest, counted and reported; other subscriptions are not held
// up.
func TestSlowConsumer(t *testing.T) {
	addr := needRedis(t)
	var reported atomic.Int32
	c := newNode(t, liveredis.Options{Addr: addr, Prefix: cleanPrefix(t, addr), MaxPending: 3,
		OnError: func(op string, err error) {
			if op == "deliver" && errors.Is(err, liveredis.ErrSlowConsumer) {
				reported.Add(1)
			}
		}})
	ctx := t.Context()
	release := make(chan struct{})
	var slow, fast inbox
	ss, err := c.Subscribe(ctx, "live.room.slow", func(data []byte) {
		<-release
		slow.add(data)
	})
	mustOK(t, err)
	defer ss.Close()
	sf, err := c.Subscribe(ctx, "live.room.fast", fast.add)
	mustOK(t, err)
	defer sf.Close()
	const sent = 10
	for i := range sent {
		mustOK(t, c.Publish(ctx, "live.room.slow", []byte{byte('0' + i)}))
	}
	mustOK(t, c.Publish(ctx, "live.room.fast", []byte("fast")))
	// The fast subscription is served while the slow handler is stuck, and
	// by then every slow message was received: queued or dropped.
	poll(t, "the fast subscription", 5*time.Second, func() bool { return fast.has("fast") })
	poll(t, "drops to be counted", 5*time.Second, func() bool { return c.Stats().Dropped > 0 })
	close(release)
	poll(t, "the queued messages", 5*time.Second, func() bool { return uint64(slow.len())+c.Stats().Dropped == sent })
	// Three queued, plus the one in the handler if it had started.
	if n := slow.len(); n != 3 && n != 4 {
		t.Fatalf("slow handler got %d messages, want MaxPending (3) or one more", n)
	}
	if st := c.Stats(); reported.Load() != int32(st.Dropped) || st.Errors < st.Dropped {
		t.Fatalf("%d drops reported to OnError, stats %+v", reported.Load(), st)
	}
	// Which ones were dropped depends on when the handler took the first
	// one; those delivered are in order.
	if !slices.IsSorted(slow.msgs) || slow.msgs[0] != "0" {
		t.Fatalf("slow handler got %q, want the first message and then others in order", slow.msgs)
	}
}

// Close while publishers and handlers are busy: every Publish returns (nil
// or an error), later calls fail with ErrClosed, goroutines end (goleak),
// and a client passed in Options stays open.
func TestCloseUnderLoad(t *testing.T) {
	addr := needRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	c, err := liveredis.New(liveredis.Options{Client: rdb, Prefix: cleanPrefix(t, addr)})
	mustOK(t, err)
	ctx := t.Context()
	var got inbox
	_, err = c.Subscribe(ctx, "live.room.load", got.add)
	mustOK(t, err)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				if err := c.Publish(ctx, "live.room.load", []byte("x")); err != nil {
					if !errors.Is(err, liveredis.ErrClosed) {
						t.Errorf("Publish during Close: %v", err)
					}
					return
				}
			}
		})
	}
	poll(t, "traffic", 5*time.Second, func() bool { return got.len() > 100 })
	mustOK(t, c.Close())
	wg.Wait()
	if err := c.Publish(ctx, "live.room.load", nil); !errors.Is(err, liveredis.ErrClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, err := c.Subscribe(ctx, "live.room.load", func([]byte) {}); !errors.Is(err, liveredis.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	mustOK(t, c.Close())
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("the caller's client was closed: %v", err)
	}
}

// A Publish whose context ended before it was sent fails without sending.
func TestPublishCanceled(t *testing.T) {
	addr := needRedis(t)
	c := newNode(t, liveredis.Options{Addr: addr, Prefix: cleanPrefix(t, addr)})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Publish(ctx, "live.room.x", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a canceled context: %v", err)
	}
	if st := c.Stats(); st.Published != 0 || st.Errors != 0 {
		t.Fatalf("a canceled publish was sent or counted as an error: %+v", st)
	}
}

// freezer is a TCP proxy whose connections can be frozen: data is then
// swallowed in both directions without closing anything, as with a
// network partition. Connections accepted later work normally.
type freezer struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []*frozenPair
	wg     sync.WaitGroup
}

type frozenPair struct {
	frozen     atomic.Bool
	down, upst net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	mustOK(t, err)
	f := &freezer{l: l, target: target}
	f.wg.Go(f.accept)
	t.Cleanup(f.close)
	return f
}

func (f *freezer) addr() string { return f.l.Addr().String() }

func (f *freezer) accept() {
	for {
		down, err := f.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.target)
		if err != nil {
			_ = down.Close()
			continue
		}
		p := &frozenPair{down: down, upst: up}
		f.mu.Lock()
		f.conns = append(f.conns, p)
		f.mu.Unlock()
		f.wg.Go(func() { p.pipe(up, down) })
		f.wg.Go(func() { p.pipe(down, up) })
	}
}

// pipe copies src to dst until either closes, dropping data while frozen.
func (p *frozenPair) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = p.down.Close()
	_ = p.upst.Close()
}

// freeze freezes every connection accepted so far.
func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.conns {
		p.frozen.Store(true)
	}
}

func (f *freezer) close() {
	_ = f.l.Close()
	f.mu.Lock()
	for _, p := range f.conns {
		_ = p.down.Close()
		_ = p.upst.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// A subscription connection that goes silent without closing (a network
// partition) is found by the PING check and replaced; delivery resumes.
func TestSilentConnectionReplaced(t *testing.T) {
	addr := needRedis(t)
	proxy := newFreezer(t, addr)
	prefix := cleanPrefix(t, addr)
	sub := newNode(t, liveredis.Options{Addr: proxy.addr(), Prefix: prefix, PingInterval: 100 * time.Millisecond})
	pub := newNode(t, liveredis.Options{Addr: addr, Prefix: prefix})
	reconnected := make(chan struct{}, 1)
	sub.OnReconnect(func() {
		select {
		case reconnected <- struct{}{}:
		default:
		}
	})
	ctx := t.Context()
	var got inbox
	s, err := sub.Subscribe(ctx, "live.room.p", got.add)
	mustOK(t, err)
	defer s.Close()
	mustOK(t, pub.Publish(ctx, "live.room.p", []byte("before")))
	poll(t, "delivery before the partition", 5*time.Second, func() bool { return got.has("before") })

	proxy.freeze()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !got.has("after"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("delivery did not resume after the partition; stats %+v", sub.Stats())
		}
		mustOK(t, pub.Publish(ctx, "live.room.p", []byte("after")))
		time.Sleep(20 * time.Millisecond)
	}
	if st := sub.Stats(); st.Errors == 0 || st.Reconnects == 0 {
		t.Fatalf("the partition is not in the stats: %+v", st)
	}
	select {
	case <-reconnected:
	case <-time.After(5 * time.Second):
		t.Fatal("OnReconnect hook not called")
	}
}
