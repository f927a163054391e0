package ratelimit

import (
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

func TestBucketStartsFullAndDrains(t *testing.T) {
	b := New(100, 50, t0)
	for i := range 100 {
		if !b.Allow(t0) {
			t.Fatalf("token %d rejected, bucket should start with 100", i)
		}
	}
	if b.Allow(t0) {
		t.Fatal("101st token admitted without refill")
	}
}

func TestBucketRefillIsProportionalAndCapped(t *testing.T) {
	b := New(100, 50, t0)
	for range 100 {
		b.Allow(t0)
	}
	if got := b.Tokens(t0.Add(100 * time.Millisecond)); got != 5 {
		t.Fatalf("after 100ms at 50/s: %d tokens, want 5", got)
	}
	if got := b.Tokens(t0.Add(time.Hour)); got != 100 {
		t.Fatalf("after an hour: %d tokens, want cap 100", got)
	}
}

func TestBucketBackwardsClockCreditsNothing(t *testing.T) {
	b := New(10, 10, t0)
	for range 10 {
		b.Allow(t0)
	}
	if b.Allow(t0.Add(-time.Hour)) {
		t.Fatal("backwards clock credited tokens")
	}
	// The forward step is measured from the newest time seen, not the old one.
	if got := b.Tokens(t0.Add(500 * time.Millisecond)); got != 5 {
		t.Fatalf("after backwards then +500ms: %d tokens, want 5", got)
	}
}

func TestBucketAllowNEdgeCases(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want bool
	}{
		{"zero always ok", 0, true},
		{"negative rejected", -1, false},
		{"over capacity rejected", 11, false},
		{"exact capacity ok", 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New(10, 1, t0)
			if got := b.AllowN(t0, tc.n); got != tc.want {
				t.Fatalf("AllowN(%d) = %v, want %v", tc.n, got, tc.want)
			}
			wantLeft := 10
			if tc.want && tc.n > 0 {
				wantLeft -= tc.n
			}
			if got := b.Tokens(t0); got != wantLeft {
				t.Fatalf("tokens left %d, want %d (rejections must have no side effects)", got, wantLeft)
			}
		})
	}
}

func TestBucketInvalidConfigAdmitsNothing(t *testing.T) {
	for _, b := range []*Bucket{New(0, 10, t0), New(-5, 10, t0), {}} {
		if b.Allow(t0.Add(time.Second)) {
			t.Fatal("bucket with no capacity admitted a frame")
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	bk := New(100, 1e9, t0)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		bk.Allow(now)
	}
}
