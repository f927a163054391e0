package signing

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxNonces is the default capacity of the in-memory nonce store.
const DefaultMaxNonces = 100_000

// nonceCleanupSlack is how long past the nonce TTL a used nonce is kept.
const nonceCleanupSlack = 10 * time.Second

// maxNonceLen bounds the nonce accepted by the parser: 16 timestamp digits,
// 16 + 16 hex digits and two separators, with room to spare.
const maxNonceLen = 64

// NonceStore records consumed nonces. Use must be atomic: of several calls
// with the same nonce, exactly one succeeds and the others return
// [ErrNonceUsed]. ts is the timestamp embedded in the nonce; a store may
// forget a nonce once ts is older than the nonce TTL plus a margin, because
// the stateless checks reject it from then on. A store that drops entries
// before that (for example under a capacity limit) must fail closed and
// return [ErrNoncePredatesWindow] for nonces it can no longer vouch for.
// Implementations must be safe for concurrent use.
type NonceStore interface {
	Use(ctx context.Context, nonce string, ts time.Time) error
}

var _ NonceStore = (*MemoryNonceStore)(nil)

// MemoryNonceStore is the bounded in-process [NonceStore]. Expired entries
// are dropped lazily during Use (no goroutine). When the store holds more
// than its capacity, the oldest 10 % (insertion order) are evicted and the
// high-water mark is first raised to the largest timestamp embedded in
// them; from then on nonces whose timestamp is at or below the mark are
// rejected with [ErrNoncePredatesWindow].
type MemoryNonceStore struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	used  map[string]struct{}
	queue []usedNonce // insertion order; live entries are queue[head:]
	head  int
	mark  int64 // high-water mark, ms
}

type usedNonce struct {
	nonce string
	// until is the time in ms after which the entry may be dropped:
	// max(first use, embedded ts) + TTL + 10 s.
	until int64
	ts    int64
}

// NewMemoryNonceStore returns a store for nonces that live ttl, holding at
// most maxEntries (DefaultMaxNonces when ≤ 0) and reading the clock from now
// (time.Now when nil).
func NewMemoryNonceStore(ttl time.Duration, maxEntries int, now func() time.Time) *MemoryNonceStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxNonces
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryNonceStore{
		ttl:  ttl,
		max:  maxEntries,
		now:  now,
		used: make(map[string]struct{}),
	}
}

// Use records nonce as consumed. It returns [ErrNonceUsed] when the nonce
// is already recorded, [ErrNoncePredatesWindow] when ts is at or below the
// high-water mark, and ctx.Err() when ctx is already done.
func (m *MemoryNonceStore) Use(ctx context.Context, nonce string, ts time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := m.now().UnixMilli()
	tsMs := ts.UnixMilli()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expireLocked(now)
	if tsMs <= m.mark {
		return ErrNoncePredatesWindow
	}
	if _, ok := m.used[nonce]; ok {
		return ErrNonceUsed
	}
	nonce = strings.Clone(nonce)
	m.used[nonce] = struct{}{}
	m.queue = append(m.queue, usedNonce{
		nonce: nonce,
		until: max(now, tsMs) + (m.ttl + nonceCleanupSlack).Milliseconds(),
		ts:    tsMs,
	})
	if len(m.used) > m.max {
		m.evictLocked(max(1, len(m.used)/10))
	}
	return nil
}

// Len returns the number of nonces currently recorded.
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.used)
}

// HighWaterMark returns the high-water mark: nonces with an embedded
// timestamp at or before it are rejected. It is the zero time (Unix epoch)
// until the first eviction.
func (m *MemoryNonceStore) HighWaterMark() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return time.UnixMilli(m.mark)
}

// expireLocked drops entries from the head of the queue whose retention
// ended. Entries behind a still-live head wait for it; the store stays
// bounded by the capacity limit either way.
func (m *MemoryNonceStore) expireLocked(now int64) {
	for m.head < len(m.queue) && m.queue[m.head].until < now {
		m.dropHeadLocked()
	}
	m.compactLocked()
}

// evictLocked removes the n oldest entries after raising the high-water
// mark past every timestamp among them (fail-closed: the mark moves before
// anything is forgotten).
func (m *MemoryNonceStore) evictLocked(n int) {
	n = min(n, len(m.queue)-m.head)
	for _, e := range m.queue[m.head : m.head+n] {
		m.mark = max(m.mark, e.ts)
	}
	for range n {
		m.dropHeadLocked()
	}
	m.compactLocked()
}

func (m *MemoryNonceStore) dropHeadLocked() {
	delete(m.used, m.queue[m.head].nonce)
	m.queue[m.head] = usedNonce{}
	m.head++
}

// compactLocked reclaims the consumed prefix of the queue once it is at
// least half of it.
func (m *MemoryNonceStore) compactLocked() {
	if m.head == 0 || m.head < len(m.queue)/2 {
		return
	}
	n := copy(m.queue, m.queue[m.head:])
	clear(m.queue[n:])
	m.queue = m.queue[:n]
	m.head = 0
}

// parsedNonce is a nonce split into its three parts.
type parsedNonce struct {
	ts   int64
	rand string
	mac  string
}

// parseNonce splits a nonce "<ts>:<rand>:<mac>" and parses the timestamp.
// The timestamp must be 1 to 16 decimal digits (a JavaScript Date.now()
// value); the reference is laxer (parseInt) but only ever emits that form.
func parseNonce(nonce string) (parsedNonce, error) {
	if len(nonce) > maxNonceLen || strings.Count(nonce, ":") != 2 {
		return parsedNonce{}, ErrMalformedNonce
	}
	tsPart, rest, _ := strings.Cut(nonce, ":")
	randPart, macPart, _ := strings.Cut(rest, ":")
	if len(tsPart) == 0 || len(tsPart) > 16 {
		return parsedNonce{}, ErrMalformedNonceTimestamp
	}
	for i := 0; i < len(tsPart); i++ {
		if tsPart[i] < '0' || tsPart[i] > '9' {
			return parsedNonce{}, ErrMalformedNonceTimestamp
		}
	}
	ts, err := strconv.ParseInt(tsPart, 10, 64)
	if err != nil {
		return parsedNonce{}, ErrMalformedNonceTimestamp
	}
	return parsedNonce{ts: ts, rand: randPart, mac: macPart}, nil
}

// newNonce builds "<ts>:<16 hex rand>:<first 16 hex of HMAC(key, ts:rand)>".
func (s *Signer) newNonce(k *key, ts int64) string {
	var b [maxNonceLen]byte
	out := strconv.AppendInt(b[:0], ts, 10)
	out = append(out, ':')
	var r [8]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never returns an error
	out = hex.AppendEncode(out, r[:])
	mac := k.sumSmall(out)
	out = append(out, ':')
	out = hex.AppendEncode(out, mac[:8])
	return string(out)
}

// checkNonce runs the stateless nonce checks of spec §3.5 in the
// reference's order, except that the high-water mark lives in the store and
// is checked when the nonce is consumed.
func (s *Signer) checkNonce(ring *keyring, nonce string, nowMs int64) (parsedNonce, error) {
	p, err := parseNonce(nonce)
	if err != nil {
		return p, err
	}
	switch age := nowMs - p.ts; {
	case age > s.maxAge.Milliseconds():
		return p, ErrNonceExpired
	case age < -MaxClockSkew.Milliseconds():
		return p, ErrNonceFuture
	}
	if len(p.mac) != 16 {
		return p, ErrInvalidNonceSignature
	}
	var msg [maxNonceLen]byte
	in := append(msg[:0], nonce[:len(nonce)-len(p.mac)-1]...)
	for _, k := range ring.keys {
		mac := k.sumSmall(in)
		var want [16]byte
		hex.Encode(want[:], mac[:8])
		if subtle.ConstantTimeCompare(want[:], []byte(p.mac)) == 1 {
			return p, nil
		}
	}
	return p, ErrInvalidNonceSignature
}
