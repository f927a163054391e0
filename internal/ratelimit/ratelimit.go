// Package ratelimit provides the per-connection token bucket that guards
// every inbound frame (spec §1.3 step 1, §6.2).
//
// A Bucket is owned by one connection's reader goroutine and is not safe for
// concurrent use; it needs no lock and allocates nothing.
package ratelimit

import "time"

// Bucket is a token bucket: it starts full with Burst tokens and refills at
// Rate tokens per second, never above Burst. The zero value rejects
// everything; use New.
type Bucket struct {
	burst  float64
	rate   float64 // tokens per nanosecond
	tokens float64
	last   time.Time
}

// New returns a full bucket. burst <= 0 or ratePerSecond < 0 yields a bucket
// that admits nothing; callers that want no limit should not consult a
// bucket at all.
func New(burst int, ratePerSecond float64, now time.Time) *Bucket {
	b := &Bucket{}
	b.Reset(burst, ratePerSecond, now)
	return b
}

// Reset reconfigures b in place and fills it.
func (b *Bucket) Reset(burst int, ratePerSecond float64, now time.Time) {
	if burst < 0 {
		burst = 0
	}
	if ratePerSecond < 0 || ratePerSecond != ratePerSecond { // negative or NaN
		ratePerSecond = 0
	}
	b.burst = float64(burst)
	b.rate = ratePerSecond / float64(time.Second)
	b.tokens = b.burst
	b.last = now
}

// Allow takes one token if one is available at time now and reports whether
// it did. A clock that moves backwards credits nothing.
func (b *Bucket) Allow(now time.Time) bool {
	return b.AllowN(now, 1)
}

// AllowN takes n tokens if available. n == 0 always succeeds; a negative n or
// an n larger than the burst always fails, without side effects.
func (b *Bucket) AllowN(now time.Time, n int) bool {
	if n == 0 {
		return true
	}
	if n < 0 || float64(n) > b.burst {
		return false
	}
	b.refill(now)
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// Tokens reports the whole tokens available at time now (after refill).
func (b *Bucket) Tokens(now time.Time) int {
	b.refill(now)
	return int(b.tokens)
}

func (b *Bucket) refill(now time.Time) {
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		// Backwards or unchanged clock: credit nothing, but do not move
		// last backwards either, so a later forward step is not double counted.
		return
	}
	b.last = now
	b.tokens += float64(elapsed) * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
}
