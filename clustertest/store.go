package clustertest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
)

var storeTests = []subtest{
	{"Fenced", testStoreFenced},
	{"LargeTokens", testStoreLargeTokens},
	{"NotFound", testStoreNotFound},
	{"Values", testStoreValues},
	{"TTL", testStoreTTL},
	{"PutIfAbsentOnce", testPutIfAbsentOnce},
	{"PutIfAbsentTTL", testPutIfAbsentTTL},
	{"Delete", testStoreDelete},
}

// get reads key on c and fails the test unless it is there.
func get(t *testing.T, c live.Cluster, key string) ([]byte, uint64) {
	t.Helper()
	v, tok, err := c.GetFenced(testContext(t), key)
	must(t, err, fmt.Sprintf("GetFenced(%q)", key))
	return v, tok
}

// wantValue fails unless key holds value with token on c.
func wantValue(t *testing.T, c live.Cluster, key string, value []byte, token uint64) {
	t.Helper()
	v, tok := get(t, c, key)
	if !bytes.Equal(v, value) || tok != token {
		t.Fatalf("GetFenced(%q) = %q, %d; want %q, %d", key, v, tok, value, token)
	}
}

// PutFenced refuses a lower token with ErrFenced and keeps the value; it
// accepts an equal or higher one. Writes on one node are read on another.
func testStoreFenced(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	a, b := ns[0], ns[1]
	key := "singleton-state/Fenced-" + unique()
	steps := []struct {
		node  live.Cluster
		token uint64
		value string
		err   error
		want  string // value afterwards
		wantT uint64
	}{
		{a, 5, "five", nil, "five", 5},
		{b, 3, "three", live.ErrFenced, "five", 5},
		{b, 4, "four", live.ErrFenced, "five", 5},
		{a, 5, "five again", nil, "five again", 5},
		{b, 9, "nine", nil, "nine", 9},
		{a, 5, "five late", live.ErrFenced, "nine", 9},
		{a, 10, "ten", nil, "ten", 10},
	}
	for i, s := range steps {
		err := s.node.PutFenced(ctx, key, s.token, []byte(s.value), 0)
		if s.err == nil {
			must(t, err, fmt.Sprintf("step %d: PutFenced(token %d)", i, s.token))
		} else {
			wantErr(t, err, s.err, fmt.Sprintf("step %d: PutFenced(token %d)", i, s.token))
		}
		for _, c := range ns {
			wantValue(t, c, key, []byte(s.want), s.wantT)
		}
	}
}

// Tokens compare exactly over the whole uint64 range (a backend comparing
// them as float64 accepts 2^53 after 2^53+1).
func testStoreLargeTokens(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 1)
	ctx := testContext(t)
	tests := []struct {
		name          string
		first, second uint64
		err           error
	}{
		{"2^53+1 then 2^53", 1<<53 + 1, 1 << 53, live.ErrFenced},
		{"2^53 then 2^53+1", 1 << 53, 1<<53 + 1, nil},
		{"max then max-1", math.MaxUint64, math.MaxUint64 - 1, live.ErrFenced},
		{"max then max", math.MaxUint64, math.MaxUint64, nil},
		{"9 then 10", 9, 10, nil},
		{"10 then 9", 10, 9, live.ErrFenced},
		{"1 then 0", 1, 0, live.ErrFenced},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "singleton-state/Large-" + unique()
			must(t, ns[0].PutFenced(ctx, key, tc.first, []byte("first"), 0), "first PutFenced")
			wantValue(t, ns[0], key, []byte("first"), tc.first)
			err := ns[0].PutFenced(ctx, key, tc.second, []byte("second"), 0)
			if tc.err == nil {
				must(t, err, "second PutFenced")
				wantValue(t, ns[0], key, []byte("second"), tc.second)
			} else {
				wantErr(t, err, tc.err, "second PutFenced")
				wantValue(t, ns[0], key, []byte("first"), tc.first)
			}
		})
	}
}

// GetFenced of a key never written is ErrNotFound.
func testStoreNotFound(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 1)
	_, _, err := ns[0].GetFenced(testContext(t), "singleton-state/Missing-"+unique())
	wantErr(t, err, live.ErrNotFound, "GetFenced of a missing key")
}

// Values are stored byte for byte; neither the caller's buffer after
// PutFenced nor a returned slice aliases the stored value.
func testStoreValues(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"all-bytes", allBytes},
		{"json", []byte(`{"id":"x","seq":3,"state":{"k":"v"}}`)},
		{"256KiB", big},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "singleton-state/Value-" + unique()
			buf := append([]byte(nil), tc.value...)
			must(t, ns[0].PutFenced(ctx, key, 7, buf, 0), "PutFenced")
			for i := range buf {
				buf[i] ^= 0xff
			}
			v, _ := get(t, ns[1], key)
			if !bytes.Equal(v, tc.value) {
				t.Fatalf("value of %d bytes read back as %d different bytes", len(tc.value), len(v))
			}
			for i := range v {
				v[i] ^= 0xff
			}
			wantValue(t, ns[1], key, tc.value, 7)
		})
	}
}

// A value with a TTL expires; one without does not; a later write without
// a TTL clears an earlier TTL; an expired key accepts any token.
func testStoreTTL(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	base := "singleton-state/TTL-" + unique()
	expiring, forever, cleared := base+"-expiring", base+"-forever", base+"-cleared"
	must(t, ns[0].PutFenced(ctx, expiring, 8, []byte("x"), shortTTL), "PutFenced with TTL")
	must(t, ns[0].PutFenced(ctx, forever, 8, []byte("y"), 0), "PutFenced without TTL")
	must(t, ns[0].PutFenced(ctx, cleared, 8, []byte("z"), shortTTL), "PutFenced with TTL")
	must(t, ns[0].PutFenced(ctx, cleared, 8, []byte("z2"), 0), "PutFenced without TTL")
	wantValue(t, ns[1], expiring, []byte("x"), 8)
	eventually(t, "a value with a TTL to expire", func() (bool, error) {
		_, _, err := ns[1].GetFenced(testContext(t), expiring)
		if errors.Is(err, live.ErrNotFound) {
			return true, nil
		}
		return false, err
	})
	wantValue(t, ns[1], forever, []byte("y"), 8)
	wantValue(t, ns[1], cleared, []byte("z2"), 8)
	must(t, ns[1].PutFenced(ctx, expiring, 1, []byte("new"), 0), "PutFenced of an expired key with a lower token")
	wantValue(t, ns[0], expiring, []byte("new"), 1)
}

// PutIfAbsent stores exactly once under contention from several goroutines
// on several nodes, and refuses a key holding a fenced value.
func testPutIfAbsentOnce(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 4)
	ctx := testContext(t)
	key := "nonce/" + unique() + "_once"
	const perNode = 8
	var (
		wins  atomic.Int32
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make(chan error, len(ns)*perNode)
	)
	for ni, c := range ns {
		for g := range perNode {
			wg.Go(func() {
				<-start
				ok, err := c.PutIfAbsent(ctx, key, fmt.Appendf(nil, "%d-%d", ni, g), time.Minute)
				if err != nil {
					errs <- err
				}
				if ok {
					wins.Add(1)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("PutIfAbsent: %v", err)
	}
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d concurrent PutIfAbsent calls stored, want exactly 1", n)
	}
	for i, c := range ns {
		ok, err := c.PutIfAbsent(ctx, key, []byte("late"), time.Minute)
		must(t, err, "PutIfAbsent")
		if ok {
			t.Fatalf("node %d stored an existing key", i)
		}
	}
	fenced := "singleton-state/Absent-" + unique()
	must(t, ns[0].PutFenced(ctx, fenced, 3, []byte("v"), 0), "PutFenced")
	if ok, err := ns[1].PutIfAbsent(ctx, fenced, []byte("w"), 0); err != nil || ok {
		t.Fatalf("PutIfAbsent over a fenced value = %v, %v; want false", ok, err)
	}
	wantValue(t, ns[1], fenced, []byte("v"), 3)
}

// A PutIfAbsent key with a TTL can be stored again once expired, not
// before; without a TTL it stays.
func testPutIfAbsentTTL(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	base := "nonce/" + unique()
	ok, err := ns[0].PutIfAbsent(ctx, base+"_short", []byte{1}, shortTTL)
	if err != nil || !ok {
		t.Fatalf("PutIfAbsent of a new key = %v, %v", ok, err)
	}
	ok, err = ns[0].PutIfAbsent(ctx, base+"_forever", []byte{1}, 0)
	if err != nil || !ok {
		t.Fatalf("PutIfAbsent of a new key = %v, %v", ok, err)
	}
	eventually(t, "a PutIfAbsent key to expire", func() (bool, error) {
		return ns[1].PutIfAbsent(testContext(t), base+"_short", []byte{2}, time.Minute)
	})
	if ok, err := ns[1].PutIfAbsent(ctx, base+"_forever", []byte{2}, 0); err != nil || ok {
		t.Fatalf("PutIfAbsent of a key stored without TTL = %v, %v; want false", ok, err)
	}
}

// Delete removes fenced and PutIfAbsent keys (a lower token is accepted
// afterwards); deleting a missing key is not an error.
func testStoreDelete(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	key := "singleton-state/Delete-" + unique()
	must(t, ns[0].PutFenced(ctx, key, 50, []byte("v"), 0), "PutFenced")
	must(t, ns[1].Delete(ctx, key), "Delete")
	_, _, err := ns[0].GetFenced(ctx, key)
	wantErr(t, err, live.ErrNotFound, "GetFenced after Delete")
	must(t, ns[1].Delete(ctx, key), "Delete of a missing key")
	must(t, ns[0].PutFenced(ctx, key, 2, []byte("w"), 0), "PutFenced with a lower token after Delete")
	wantValue(t, ns[1], key, []byte("w"), 2)

	nonce := "nonce/" + unique()
	if ok, err := ns[0].PutIfAbsent(ctx, nonce, []byte{1}, 0); err != nil || !ok {
		t.Fatalf("PutIfAbsent = %v, %v", ok, err)
	}
	must(t, ns[1].Delete(ctx, nonce), "Delete")
	if ok, err := ns[0].PutIfAbsent(ctx, nonce, []byte{1}, 0); err != nil || !ok {
		t.Fatalf("PutIfAbsent after Delete = %v, %v; want true", ok, err)
	}
}

var nodeTests = []subtest{
	{"UniqueIDs", testNodeIDs},
	{"Closed", testNodeClosed},
}

// Node ids are non-empty and distinct.
func testNodeIDs(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 6)
	seen := map[string]int{}
	for i, c := range ns {
		id := c.NodeID()
		if id == "" {
			t.Fatalf("node %d has an empty id", i)
		}
		if j, dup := seen[id]; dup {
			t.Fatalf("nodes %d and %d share the id %q", j, i, id)
		}
		seen[id] = i
		if c.NodeID() != id {
			t.Fatalf("node %d's id changed", i)
		}
	}
}

// A closed node fails Publish and Subscribe, closing twice is harmless,
// and the other nodes go on.
func testNodeClosed(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	subject := "live.node.closed-" + unique()
	b := subscribe(t, ns[1], subject)
	must(t, ns[0].Close(), "Close")
	_ = ns[0].Close()
	if err := ns[0].Publish(ctx, subject, []byte("x")); err == nil {
		t.Fatal("Publish on a closed node succeeded")
	}
	if sub, err := ns[0].Subscribe(ctx, subject, func([]byte) {}); err == nil {
		_ = sub.Close()
		t.Fatal("Subscribe on a closed node succeeded")
	}
	must(t, ns[1].Publish(ctx, subject, []byte("alive")), "Publish on the remaining node")
	if msgs := b.waitN(t, "delivery on the remaining node", 1); string(msgs[0]) != "alive" {
		t.Fatalf("got %q", msgs[0])
	}
}
