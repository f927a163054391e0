package signing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNonceFormat(t *testing.T) {
	s, _ := newTestSigner(t, Config{Nonces: true})
	ss, err := s.Sign("id", "C", 1, []byte(counterState))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(ss.Nonce, ":")
	if len(parts) != 3 {
		t.Fatalf("nonce %q has %d parts", ss.Nonce, len(parts))
	}
	if parts[0] != strconv.FormatInt(goldenTS, 10) {
		t.Errorf("nonce ts %q, want %d", parts[0], goldenTS)
	}
	if len(parts[1]) != 16 || strings.Trim(parts[1], "0123456789abcdef") != "" {
		t.Errorf("nonce rand %q is not 16 lowercase hex digits", parts[1])
	}
	if want := macHex(testSecret, parts[0]+":"+parts[1])[:16]; parts[2] != want {
		t.Errorf("nonce mac %q, want %q", parts[2], want)
	}
	if want := macHex(testSecret, payloadOf(ss)); ss.Signature != want {
		t.Errorf("signature does not cover the nonce")
	}
	other, _ := s.Sign("id", "C", 1, []byte(counterState))
	if other.Nonce == ss.Nonce {
		t.Error("two signatures share a nonce")
	}
}

func TestNonceConsumedOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestSigner(t, Config{Nonces: true})
	ss, err := s.Sign("id", "C", 1, []byte(counterState))
	if err != nil {
		t.Fatal(err)
	}
	consume := OpenOptions{ConsumeNonce: true}
	// A failing Open must not burn the nonce.
	if _, err := s.Open(ctx, ss, "Wrong", consume); err != ErrComponentMismatch {
		t.Fatalf("wrong name: err = %v", err)
	}
	if _, err := s.Open(ctx, ss, "C", consume); err != nil {
		t.Fatalf("first open: %v", err)
	}
	_, err = s.Open(ctx, ss, "C", consume)
	if err != ErrNonceUsed || err.Error() != "Nonce already used" {
		t.Fatalf("second open: err = %v, want %v", err, ErrNonceUsed)
	}
	if _, err := s.Open(ctx, ss, "C", OpenOptions{}); err != nil {
		t.Fatalf("verification-only open: %v", err)
	}
}

func TestMissingNonce(t *testing.T) {
	ctx := context.Background()
	plain, _ := newTestSigner(t, Config{})
	ss, err := plain.Sign("id", "C", 1, []byte(counterState))
	if err != nil {
		t.Fatal(err)
	}
	withNonces, _ := newTestSigner(t, Config{Nonces: true})
	if _, err := withNonces.Open(ctx, ss, "C", OpenOptions{ConsumeNonce: true}); err != ErrMissingNonce || err.Error() != "Missing nonce" {
		t.Fatalf("err = %v, want %v", err, ErrMissingNonce)
	}
	if _, err := withNonces.Open(ctx, ss, "C", OpenOptions{}); err != nil {
		t.Fatalf("without ConsumeNonce: %v", err)
	}
	// Nonces disabled: a state without nonce opens repeatedly, one with a
	// nonce still opens only once.
	for range 2 {
		if _, err := plain.Open(ctx, ss, "C", OpenOptions{ConsumeNonce: true}); err != nil {
			t.Fatalf("nonces disabled: %v", err)
		}
	}
	withNonce, _ := withNonces.Sign("id", "C", 1, []byte(counterState))
	if _, err := plain.Open(ctx, withNonce, "C", OpenOptions{ConsumeNonce: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Open(ctx, withNonce, "C", OpenOptions{ConsumeNonce: true}); err != ErrNonceUsed {
		t.Fatalf("err = %v, want %v", err, ErrNonceUsed)
	}
}

func TestNonceStatelessChecks(t *testing.T) {
	ctx := context.Background()
	const prev = "previous-secret"
	s, clock := newTestSigner(t, Config{Nonces: true, PreviousSecrets: [][]byte{[]byte(prev)}})
	now := clock.UnixMilli()
	maxAge := DefaultMaxAge.Milliseconds()
	tests := []struct {
		name  string
		nonce string
		want  error
		wire  string
	}{
		{"valid", makeNonce(testSecret, now, "0011223344556677"), nil, ""},
		{"previous key", makeNonce(prev, now, "0011223344556677"), nil, ""},
		{"two parts", "123:abc", ErrMalformedNonce, "Malformed nonce"},
		{"four parts", makeNonce(testSecret, now, "aa") + ":x", ErrMalformedNonce, "Malformed nonce"},
		{"too long", strings.Repeat("1", 70) + ":a:b", ErrMalformedNonce, "Malformed nonce"},
		{"letters", "12a:0011223344556677:0011223344556677", ErrMalformedNonceTimestamp, "Malformed nonce timestamp"},
		{"empty ts", ":0011223344556677:0011223344556677", ErrMalformedNonceTimestamp, "Malformed nonce timestamp"},
		{"negative ts", "-1:0011223344556677:0011223344556677", ErrMalformedNonceTimestamp, "Malformed nonce timestamp"},
		{"expired", makeNonce(testSecret, now-maxAge-1, "00"), ErrNonceExpired, "Nonce expired"},
		{"at ttl", makeNonce(testSecret, now-maxAge, "01"), nil, ""},
		{"future", makeNonce(testSecret, now+30_001, "00"), ErrNonceFuture, "Nonce timestamp in the future"},
		{"within skew", makeNonce(testSecret, now+30_000, "02"), nil, ""},
		{"bad mac", fmt.Sprintf("%d:00:%s", now, strings.Repeat("0", 16)), ErrInvalidNonceSignature, "Invalid nonce signature"},
		{"short mac", makeNonce(testSecret, now, "03")[:30], ErrInvalidNonceSignature, "Invalid nonce signature"},
		{"unknown key", makeNonce("unknown", now, "00"), ErrInvalidNonceSignature, "Invalid nonce signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := resign(testSecret, SignedState{
				Data: `{"__componentName":"C"}`, Timestamp: now, Version: 1, ComponentID: "id", Nonce: tt.nonce,
			})
			_, err := s.Open(ctx, ss, "C", OpenOptions{ConsumeNonce: true})
			if err != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && err.Error() != tt.wire {
				t.Fatalf("wire string %q, want %q", err.Error(), tt.wire)
			}
		})
	}
}

func TestParseNonce(t *testing.T) {
	tests := []struct {
		in   string
		want parsedNonce
		err  error
	}{
		{"1:ab:cd", parsedNonce{1, "ab", "cd"}, nil},
		{"1795773727840::", parsedNonce{1795773727840, "", ""}, nil},
		{"9999999999999999:a:b", parsedNonce{9999999999999999, "a", "b"}, nil},
		{"10000000000000000:a:b", parsedNonce{}, ErrMalformedNonceTimestamp},
		{"", parsedNonce{}, ErrMalformedNonce},
		{"1:2", parsedNonce{}, ErrMalformedNonce},
		{"1:2:3:4", parsedNonce{}, ErrMalformedNonce},
		{"+1:a:b", parsedNonce{}, ErrMalformedNonceTimestamp},
		{" 1:a:b", parsedNonce{}, ErrMalformedNonceTimestamp},
		{"1.5:a:b", parsedNonce{}, ErrMalformedNonceTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseNonce(tt.in)
			if err != tt.err || (err == nil && got != tt.want) {
				t.Fatalf("parseNonce(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestMemoryNonceStore(t *testing.T) {
	ctx := context.Background()
	base := time.UnixMilli(goldenTS)
	t.Run("once", func(t *testing.T) {
		clock := newClock(goldenTS)
		m := NewMemoryNonceStore(time.Minute, 10, clock.Now)
		if err := m.Use(ctx, "a", base); err != nil {
			t.Fatal(err)
		}
		if err := m.Use(ctx, "a", base); err != ErrNonceUsed {
			t.Fatalf("err = %v, want %v", err, ErrNonceUsed)
		}
		if err := m.Use(ctx, "b", base); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lazy cleanup after ttl plus slack", func(t *testing.T) {
		clock := newClock(goldenTS)
		m := NewMemoryNonceStore(time.Minute, 10, clock.Now)
		m.Use(ctx, "a", base)
		clock.Add(time.Minute + 10*time.Second)
		m.Use(ctx, "b", clock.Now())
		if m.Len() != 2 {
			t.Fatalf("Len = %d at ttl+10s, want 2 (nothing dropped yet)", m.Len())
		}
		clock.Add(time.Millisecond)
		m.Use(ctx, "c", clock.Now())
		if m.Len() != 2 {
			t.Fatalf("Len = %d after ttl+10s, want 2 (a dropped)", m.Len())
		}
	})
	t.Run("retention follows a future embedded timestamp", func(t *testing.T) {
		clock := newClock(goldenTS)
		m := NewMemoryNonceStore(time.Minute, 10, clock.Now)
		m.Use(ctx, "future", base.Add(MaxClockSkew))
		clock.Add(time.Minute + 10*time.Second + time.Millisecond)
		if err := m.Use(ctx, "future", base.Add(MaxClockSkew)); err != ErrNonceUsed {
			t.Fatalf("err = %v, want %v (entry dropped while its nonce is still valid)", err, ErrNonceUsed)
		}
	})
	t.Run("eviction raises the high-water mark", func(t *testing.T) {
		clock := newClock(goldenTS)
		m := NewMemoryNonceStore(time.Hour, 100, clock.Now)
		// Insertion order differs from timestamp order: the 10 oldest
		// entries carry timestamps up to base+50ms.
		for i := range 100 {
			ts := base.Add(time.Duration(i) * time.Millisecond)
			if i == 3 {
				ts = base.Add(50 * time.Millisecond)
			}
			if err := m.Use(ctx, fmt.Sprint("n", i), ts); err != nil {
				t.Fatal(err)
			}
		}
		if !m.HighWaterMark().Equal(time.UnixMilli(0)) {
			t.Fatalf("mark moved before the cap was exceeded: %v", m.HighWaterMark())
		}
		if err := m.Use(ctx, "n100", base.Add(200*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if m.Len() != 91 {
			t.Fatalf("Len = %d, want 91 (10 %% of 101 evicted)", m.Len())
		}
		if want := base.Add(50 * time.Millisecond); !m.HighWaterMark().Equal(want) {
			t.Fatalf("mark = %v, want %v (largest ts among evicted)", m.HighWaterMark(), want)
		}
		for _, tc := range []struct {
			name string
			ts   time.Time
			want error
		}{
			{"evicted nonce replayed", base, ErrNoncePredatesWindow},
			{"at mark", base.Add(50 * time.Millisecond), ErrNoncePredatesWindow},
			{"kept but below mark", base.Add(20 * time.Millisecond), ErrNoncePredatesWindow},
			{"after mark", base.Add(51 * time.Millisecond), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := m.Use(ctx, "fresh-"+tc.name, tc.ts); err != tc.want {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
		if err := m.Use(ctx, "n0", base); err != ErrNoncePredatesWindow {
			t.Fatalf("replay of evicted n0: err = %v", err)
		}
		if err := m.Use(ctx, "n99", base.Add(99*time.Millisecond)); err != ErrNonceUsed {
			t.Fatalf("replay of kept n99: err = %v", err)
		}
	})
	t.Run("bounded under churn", func(t *testing.T) {
		clock := newClock(goldenTS)
		m := NewMemoryNonceStore(time.Hour, 50, clock.Now)
		for i := range 2000 {
			clock.Add(time.Millisecond)
			if err := m.Use(ctx, fmt.Sprint(i), clock.Now()); err != nil {
				t.Fatalf("nonce %d: %v", i, err)
			}
			if m.Len() > 50 {
				t.Fatalf("Len = %d > cap", m.Len())
			}
		}
		if len(m.queue) > 2*50+1 {
			t.Fatalf("queue not compacted: %d", len(m.queue))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		m := NewMemoryNonceStore(time.Hour, 0, nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := m.Use(cctx, "a", time.Now()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if m.Len() != 0 {
			t.Fatal("cancelled Use recorded the nonce")
		}
	})
	t.Run("concurrent use of one nonce", func(t *testing.T) {
		m := NewMemoryNonceStore(time.Hour, 0, nil)
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if m.Use(ctx, "same", time.Now()) == nil {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Fatalf("%d successful uses, want 1", ok.Load())
		}
	})
}

// TestSignerEvictionFailsClosed drives eviction through Signer.Open.
func TestSignerEvictionFailsClosed(t *testing.T) {
	ctx := context.Background()
	s, clock := newTestSigner(t, Config{Nonces: true, MaxNonces: 10})
	var states []SignedState
	for i := range 12 {
		clock.Add(time.Millisecond)
		ss, err := s.Sign("id", "C", int64(i), []byte(counterState))
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, ss)
	}
	for i, ss := range states[:11] {
		if _, err := s.Open(ctx, ss, "C", OpenOptions{ConsumeNonce: true}); err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
	}
	// 11 > 10 entries: the oldest one was evicted and the mark moved to its
	// timestamp, so replaying it fails closed instead of succeeding.
	if _, err := s.Open(ctx, states[0], "C", OpenOptions{ConsumeNonce: true}); err != ErrNoncePredatesWindow {
		t.Fatalf("replay of evicted state: err = %v, want %v", err, ErrNoncePredatesWindow)
	}
	if _, err := s.Open(ctx, states[11], "C", OpenOptions{ConsumeNonce: true}); err != nil {
		t.Fatalf("fresh state: %v", err)
	}
}

// errStore is a NonceStore that fails.
type errStore struct{ err error }

func (e errStore) Use(context.Context, string, time.Time) error { return e.err }

func TestNonceStoreError(t *testing.T) {
	boom := errors.New("redis down")
	s, _ := newTestSigner(t, Config{Nonces: true, NonceStore: errStore{boom}})
	ss, _ := s.Sign("id", "C", 1, []byte(counterState))
	if _, err := s.Open(context.Background(), ss, "C", OpenOptions{ConsumeNonce: true}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping %v", err, boom)
	}
	s2, _ := newTestSigner(t, Config{Nonces: true, NonceStore: errStore{ErrNonceUsed}})
	if _, err := s2.Open(context.Background(), ss, "C", OpenOptions{ConsumeNonce: true}); err != ErrNonceUsed {
		t.Fatalf("err = %v, want the store's sentinel unwrapped", err)
	}
}
