package livenats_test

import (
	"errors"
	"testing"
	"time"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
	"github.com/nats-io/nats.go/jetstream"
)

// Records someone else wrote into the buckets are reported as errors, never
// a panic or a silent overwrite; Delete clears a bad store value.
func TestCorruptRecords(t *testing.T) {
	nodes := newCluster(t, 1, livenats.Options{})
	ctx := testCtx(t)
	c := nodes[0]
	leases := rawKV(t, livenats.LeaseBucket(c.Prefix()))
	store := rawKV(t, livenats.StoreBucket(c.Prefix()))
	garbage := map[string][]byte{
		"empty":         {},
		"json":          []byte(`{"holder":"x"}`),
		"wrong-kind":    {0xA1, 1, 0},            // a value record in the lease bucket
		"bad-varint":    {0xB1, 1, 0xff, 0xff},   // truncated token
		"unknown-flags": {0xB1, 0x80, 1, 1, 'x'}, // flags from a future version
		"no-holder":     {0xB1, 1, 1, 1},         // held without holder
		"ttl-overflow":  append([]byte{0xB1, 1, 1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'),
	}
	for name, data := range garbage {
		t.Run(name, func(t *testing.T) {
			key := "singleton/" + name
			_, err := leases.Put(ctx, key, data)
			must(t, err, "raw Put")
			if _, err := c.AcquireLease(ctx, key, time.Minute); err == nil || errors.Is(err, live.ErrLeaseHeld) {
				t.Fatalf("AcquireLease over a corrupt record: %v, want an error", err)
			}
			if _, err := c.LeaseHolder(ctx, key); err == nil || errors.Is(err, live.ErrNoLease) {
				t.Fatalf("LeaseHolder of a corrupt record: %v, want an error", err)
			}
			if data, _ := leases.Get(ctx, key); data == nil {
				t.Fatal("the corrupt record was removed")
			}
		})
	}
	_, err := store.Put(ctx, "singleton-state/bad", []byte{0xB1, 0, 1, 1})
	must(t, err, "raw Put")
	if _, _, err := c.GetFenced(ctx, "singleton-state/bad"); err == nil || errors.Is(err, live.ErrNotFound) {
		t.Fatalf("GetFenced of a corrupt value: %v, want an error", err)
	}
	if err := c.PutFenced(ctx, "singleton-state/bad", 1, []byte("v"), 0); err == nil {
		t.Fatal("PutFenced over a corrupt value of unknown token succeeded")
	}
	if ok, err := c.PutIfAbsent(ctx, "singleton-state/bad", []byte("v"), 0); err == nil || ok {
		t.Fatalf("PutIfAbsent over a corrupt value = %v, %v; want an error", ok, err)
	}
	must(t, c.Delete(ctx, "singleton-state/bad"), "Delete")
	must(t, c.PutFenced(ctx, "singleton-state/bad", 1, []byte("v"), 0), "PutFenced after Delete")
	if c.Stats().Errors == 0 {
		t.Fatal("failed calls were not counted in Stats.Errors")
	}
}

// A TTL the store bucket's max age would cut short is refused; so is a
// negative one.
func TestStoreTTLBounds(t *testing.T) {
	nodes := newCluster(t, 1, livenats.Options{StoreMaxAge: time.Hour})
	ctx := testCtx(t)
	c := nodes[0]
	tests := []struct {
		name string
		ttl  time.Duration
		want error // nil: stored
	}{
		{"none", 0, nil},
		{"max age", time.Hour, nil},
		{"over max age", time.Hour + time.Second, livenats.ErrTTLTooLong},
		{"negative", -time.Second, errors.New("any")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errPut := c.PutFenced(ctx, "singleton-state/ttl-"+tc.name, 1, []byte("v"), tc.ttl)
			_, errAbsent := c.PutIfAbsent(ctx, "nonce/ttl-"+tc.name, []byte("v"), tc.ttl)
			for what, err := range map[string]error{"PutFenced": errPut, "PutIfAbsent": errAbsent} {
				switch {
				case tc.want == nil && err != nil:
					t.Fatalf("%s: %v", what, err)
				case tc.want != nil && err == nil:
					t.Fatalf("%s with ttl %v succeeded", what, tc.ttl)
				case errors.Is(tc.want, livenats.ErrTTLTooLong) && !errors.Is(err, livenats.ErrTTLTooLong):
					t.Fatalf("%s: %v, want ErrTTLTooLong", what, err)
				}
			}
		})
	}
	// A node joining the cluster uses the bucket's max age, not its own
	// option.
	other := newNode(t, livenats.Options{Prefix: c.Prefix(), StoreMaxAge: 48 * time.Hour})
	if err := other.PutFenced(ctx, "singleton-state/other", 1, []byte("v"), 2*time.Hour); !errors.Is(err, livenats.ErrTTLTooLong) {
		t.Fatalf("PutFenced beyond the existing bucket's max age: %v", err)
	}
}

// The store bucket's max age removes values written with a TTL that
// nobody reads again, while the keep-alive rewrites values written without
// one, which therefore outlive the max age. (Without the keep-alive the
// value is gone after the max age: the nonce shows the server enforces it.)
func TestStoreMaxAgeAndKeepAlive(t *testing.T) {
	const maxAge = time.Second
	nodes := newCluster(t, 1, livenats.Options{StoreMaxAge: maxAge, KeepAliveInterval: maxAge / 10})
	ctx := testCtx(t)
	c := nodes[0]
	raw := rawKV(t, livenats.StoreBucket(c.Prefix()))
	must(t, c.PutFenced(ctx, "singleton-state/kept", 3, []byte("state"), 0), "PutFenced")
	ok, err := c.PutIfAbsent(ctx, "nonce/used", []byte{1}, maxAge/2)
	if err != nil || !ok {
		t.Fatalf("PutIfAbsent = %v, %v", ok, err)
	}
	first, err := raw.Get(ctx, "singleton-state/kept")
	must(t, err, "raw Get")
	eventually(t, "the max age to remove the nonce", func() bool {
		_, err := raw.Get(ctx, "nonce/used")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	eventually(t, "the kept value to be older than the max age", func() bool {
		return time.Since(first.Created()) > maxAge+maxAge/2
	})
	v, tok, err := c.GetFenced(ctx, "singleton-state/kept")
	if err != nil || string(v) != "state" || tok != 3 {
		t.Fatalf("value without TTL after the max age: %q, %d, %v", v, tok, err)
	}
	if c.Stats().Refreshed == 0 {
		t.Fatal("Stats.Refreshed is 0 but the value survived its max age")
	}
}
