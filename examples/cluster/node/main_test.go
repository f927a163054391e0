package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/live-go/live/client"
	"github.com/live-go/live/examples/cluster/internal/clusterapp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// ---- the counter workload ----

// worker is one client bumping the SharedCounter with its own id and
// sequence numbers, retrying a bump until it is acknowledged (the counter
// applies each sequence number once, so retries cannot count twice).
type worker struct {
	id   string
	node string // the node it first connected to
	eps  *endpoints
	cl   *client.Client
	comp *client.Component

	mu         sync.Mutex
	acked      int               // last acknowledged sequence number
	errs       int               // failed attempts (retried)
	lastErr    error             // the last failed attempt's error
	gap        error             // a sequence gap: an acknowledged bump was lost
	recoveries []client.Recovery // of comp, after reconnections
	counterRec []client.Recovery // of the worker's Counter
}

func (w *worker) snapshot() (acked, errs int, gap error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.errs, w.gap
}

// progress signals every change of the workers' counters.
type progress struct {
	mu      sync.Mutex
	changed chan struct{}
}

func newProgress() *progress { return &progress{changed: make(chan struct{})} }

func (p *progress) notify() {
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// wait returns once cond holds, re-checking after every change; it fails
// the test after timeout.
func (p *progress) wait(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ch := p.changed
		p.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

// bumpInterval paces each worker below the server's per-connection frame
// rate limit (50 per second).
const bumpInterval = 30 * time.Millisecond

// run bumps until stop is closed, and always ends on an acknowledged bump
// (or ctx's end), so that at the end the counter holds exactly acked for
// this worker.
func (w *worker) run(ctx context.Context, stop <-chan struct{}, pr *progress) {
	tick := time.NewTicker(bumpInterval)
	defer tick.Stop()
	for seq := 1; ; {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := w.comp.Call(cctx, "bump", clusterapp.BumpArgs{Client: w.id, Seq: seq})
		cancel()
		w.mu.Lock()
		switch {
		case err == nil:
			w.acked = seq
			seq++
		case strings.Contains(err.Error(), "sequence gap"):
			w.gap = err
		default:
			w.errs++
			w.lastErr = err
		}
		gap := w.gap
		w.mu.Unlock()
		pr.notify()
		if gap != nil {
			return
		}
	}
}

// cluster is the nodes and workers of one process test.
type cluster struct {
	t       *testing.T
	ttl     time.Duration
	procs   []*proc
	workers []*worker
	pr      *progress
	stop    chan struct{}
	done    sync.WaitGroup
	cancel  context.CancelFunc
	// counters are the per-connection Counters of the workers (rehydration
	// across nodes)
	counters []*client.Component
}

// startCluster starts n node processes of bin on backend b (a prefix of
// the test's own) and clientsPerNode workers on each, all with
// SharedCounter and Counter mounted.
func startCluster(t *testing.T, bin string, b backendCase, n, clientsPerNode int, ttl time.Duration) *cluster {
	t.Helper()
	prefix := newPrefix()
	t.Cleanup(func() { b.drop(t, prefix) }) // after the nodes stopped (cleanups run last-in first-out)
	c := &cluster{t: t, ttl: ttl, pr: newProgress(), stop: make(chan struct{})}
	args := append(b.args(prefix), "-lease", ttl.String(), "-action-timeout", "1s")
	var addrs []string
	for i := range n {
		p := startNode(t, bin, fmt.Sprintf("n%d", i+1), args...)
		c.procs = append(c.procs, p)
		addrs = append(addrs, p.addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	c.cancel = cancel
	t.Cleanup(c.halt)
	for i := range n * clientsPerNode {
		k := i % n
		w := &worker{id: fmt.Sprintf("w%d", i), node: c.procs[k].id, eps: newEndpoints(addrs, k)}
		w.cl = dialClient(t, w.eps)
		comp, err := w.cl.Mount(ctx, clusterapp.SharedCounterName, nil)
		if err != nil {
			t.Fatalf("worker %s: mount on %s: %v", w.id, w.node, err)
		}
		w.comp = comp
		comp.OnRecover(func(r client.Recovery) {
			w.mu.Lock()
			w.recoveries = append(w.recoveries, r)
			w.mu.Unlock()
			c.pr.notify()
		})
		counter, err := w.cl.Mount(ctx, clusterapp.CounterName, nil)
		if err != nil {
			t.Fatalf("worker %s: mount Counter: %v", w.id, err)
		}
		counter.OnRecover(func(r client.Recovery) {
			w.mu.Lock()
			w.counterRec = append(w.counterRec, r)
			w.mu.Unlock()
		})
		for range i + 1 {
			if _, err := counter.Call(ctx, "increment", nil); err != nil {
				t.Fatalf("worker %s: increment: %v", w.id, err)
			}
		}
		c.workers = append(c.workers, w)
		c.counters = append(c.counters, counter)
	}
	// The client rehydrates from its newest signed state, which the server
	// renews at most once a second after a change: wait for the one with
	// the increments.
	for i, counter := range c.counters {
		want := float64(i + 1)
		poll(t, "a signed state of the incremented Counter", 10*time.Second, 20*time.Millisecond, func(context.Context) bool {
			n, ok := signedCount(counter.SignedState())
			return ok && n == want
		})
	}
	for _, w := range c.workers {
		c.done.Go(func() { w.run(ctx, c.stop, c.pr) })
	}
	return c
}

// signedCount returns the "count" of the state inside a signed state.
func signedCount(signed json.RawMessage) (float64, bool) {
	var ss struct {
		Data string `json:"data"`
	}
	if json.Unmarshal(signed, &ss) != nil {
		return 0, false
	}
	var st struct {
		Count *float64 `json:"count"`
	}
	if json.Unmarshal([]byte(ss.Data), &st) != nil || st.Count == nil {
		return 0, false
	}
	return *st.Count, true
}

// halt stops the workers (once) and waits for them.
func (c *cluster) halt() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.done.Wait()
	c.cancel()
}

// totals sums the workers' acknowledged bumps and failed attempts, and
// fails the test on a sequence gap.
func (c *cluster) totals() (acked, errs int) {
	for _, w := range c.workers {
		a, e, gap := w.snapshot()
		if gap != nil {
			c.t.Fatalf("worker %s: %v: a bump acknowledged before was lost", w.id, gap)
		}
		acked += a
		errs += e
	}
	return acked, errs
}

// waitAcked waits until the workers acknowledged min bumps in all.
func (c *cluster) waitAcked(min int, timeout time.Duration) {
	c.t.Helper()
	c.pr.wait(c.t, fmt.Sprintf("%d acknowledged bumps", min), timeout, func() bool {
		a, _ := c.totals()
		return a >= min
	})
}

// owner waits until every live node names the same SharedCounter owner.
func (c *cluster) owner(timeout time.Duration) *proc {
	c.t.Helper()
	var owner string
	live := c.live()
	poll(c.t, "nodes agreeing on the SharedCounter's owner", timeout, 20*time.Millisecond, func(ctx context.Context) bool {
		owner = agreedOwner(ctx, live, clusterapp.SharedCounterName)
		return owner != ""
	})
	for _, p := range c.procs {
		if p.id == owner {
			return p
		}
	}
	c.t.Fatalf("the owner %q is none of the nodes", owner)
	return nil
}

func (c *cluster) live() []*proc {
	var out []*proc
	for _, p := range c.procs {
		if p.alive() {
			out = append(out, p)
		}
	}
	return out
}

// ackedBy returns each worker's acknowledged count now.
func (c *cluster) ackedBy() []int {
	out := make([]int, len(c.workers))
	for i, w := range c.workers {
		out[i], _, _ = w.snapshot()
	}
	return out
}

// verify stops the workload and checks the counter: every acknowledged
// bump counted exactly once (Last[w] equals what w saw acknowledged, Count
// their sum), as seen by a fresh client on each surviving node and by
// every worker's mirror.
func (c *cluster) verify() {
	t := c.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c.halt()
	acked, errs := c.totals()
	want := map[string]int{}
	for _, w := range c.workers {
		a, _, _ := w.snapshot()
		want[w.id] = a
	}
	matches := func(s map[string]any) bool {
		var st clusterapp.SharedCounter
		b, _ := json.Marshal(s)
		if json.Unmarshal(b, &st) != nil || st.Count != acked || len(st.Last) != len(want) {
			return false
		}
		for id, n := range want {
			if st.Last[id] != n {
				return false
			}
		}
		return true
	}
	for _, p := range c.live() {
		eps := newEndpoints([]string{p.addr}, 0)
		fresh, err := dialClient(t, eps).Mount(ctx, clusterapp.SharedCounterName, nil)
		if err != nil {
			t.Fatalf("mount on %s: %v", p.name, err)
		}
		if err := fresh.WaitFor(ctx, matches); err != nil {
			t.Fatalf("node %s: counter %v, want count %d and last %v (an acknowledged bump was lost or counted twice): %v",
				p.name, fresh.State(), acked, want, err)
		}
		t.Logf("node %s: count %v, duplicates (retried bumps that reached an owner twice) %v", p.name, fresh.State()["count"], fresh.State()["duplicates"])
	}
	for _, w := range c.workers {
		if err := w.comp.WaitFor(ctx, matches); err != nil {
			t.Fatalf("worker %s's mirror: %v, want count %d: %v", w.id, w.comp.State(), acked, err)
		}
	}
	t.Logf("%d bumps acknowledged, %d attempts failed and were retried", acked, errs)
}

// checkMovedClients checks that the workers first connected to dead now
// talk to a surviving node, and that their components were recovered
// there: the SharedCounter reattached, the per-connection Counter
// rehydrated from its signed state with its count.
func (c *cluster) checkMovedClients(dead *proc) {
	t := c.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	moved := 0
	for i, w := range c.workers {
		if w.node != dead.id {
			continue
		}
		moved++
		if cur := w.eps.current(); cur == dead.addr {
			t.Errorf("worker %s still dials the dead node %s", w.id, dead.addr)
		}
		w.mu.Lock()
		recs := append([]client.Recovery(nil), w.recoveries...)
		counterRecs := append([]client.Recovery(nil), w.counterRec...)
		w.mu.Unlock()
		if !slices.ContainsFunc(counterRecs, func(r client.Recovery) bool { return r.Kind == client.RecoveryRehydrated }) {
			t.Errorf("worker %s: the Counter was not rehydrated on the new node: %+v", w.id, counterRecs)
		}
		if len(recs) == 0 {
			t.Errorf("worker %s: the SharedCounter was not recovered after the reconnection", w.id)
		}
		for _, r := range recs {
			if r.Kind == client.RecoveryFailed {
				t.Errorf("worker %s: SharedCounter recovery failed: %v", w.id, r.Err)
			}
		}
		want := float64(i + 1)
		if err := c.counters[i].WaitFor(ctx, func(s map[string]any) bool { return s["count"] == want }); err != nil {
			t.Errorf("worker %s: Counter %v after moving, want count %v: %v", w.id, c.counters[i].State(), want, err)
		}
	}
	if moved == 0 {
		t.Fatalf("no worker was connected to %s", dead.name)
	}
}

// ---- acceptance tests ----

// Three nodes as separate processes; the SharedCounter's owner is killed
// with SIGKILL while every node's clients bump it. Another node takes the
// singleton over within the lease TTL (plus the heartbeat period and some
// slack), the dead node's clients reconnect to surviving nodes and recover
// their components, and no acknowledged bump is lost: the final counter
// holds, for each client, exactly the bumps it saw acknowledged.
func TestFailoverAcrossProcesses(t *testing.T) {
	bin := buildNode(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			requireService(t, b)
			const ttl = 2 * time.Second
			c := startCluster(t, bin, b, 3, 2, ttl)

			c.waitAcked(30, 15*time.Second)
			owner := c.owner(5 * time.Second)
			before := c.ackedBy()
			killed := time.Now()
			if err := owner.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-owner.done
			var ee *exec.ExitError
			if !errors.As(owner.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("owner %s: exit %v, want killed by SIGKILL", owner.name, owner.err)
			}

			// Another node owns it within TTL + a heartbeat period + slack.
			bound := ttl + ttl/3 + 2*time.Second
			var newOwner string
			survivors := c.live()
			poll(t, "a surviving node taking the SharedCounter over", bound, 20*time.Millisecond, func(ctx context.Context) bool {
				newOwner = agreedOwner(ctx, survivors, clusterapp.SharedCounterName)
				return newOwner != "" && newOwner != owner.id
			})
			t.Logf("%s took the SharedCounter over %v after %s was killed (lease TTL %v)", newOwner, time.Since(killed).Round(time.Millisecond), owner.id, ttl)

			// Every worker, including the dead node's, goes on bumping.
			c.pr.wait(t, "every worker bumping again after the kill", 20*time.Second, func() bool {
				now := c.ackedBy()
				for i := range now {
					if now[i] < before[i]+5 {
						return false
					}
				}
				return true
			})
			c.checkMovedClients(owner)
			c.verify()
		})
	}
}

// The owner of the SharedCounter is stopped with SIGTERM (the node calls
// Server.Shutdown): another node owns the singleton well before its lease
// could have expired, and no acknowledged bump is lost.
func TestGracefulHandOffAcrossProcesses(t *testing.T) {
	bin := buildNode(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			requireService(t, b)
			// A lease far longer than a hand-off: taking over by expiry would
			// take at least 2/3 of it.
			const ttl = 12 * time.Second
			c := startCluster(t, bin, b, 3, 1, ttl)

			c.waitAcked(15, 15*time.Second)
			owner := c.owner(5 * time.Second)
			before := c.ackedBy()
			stopped := time.Now()
			if err := owner.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var newOwner string
			survivors := []*proc{}
			for _, p := range c.procs {
				if p != owner {
					survivors = append(survivors, p)
				}
			}
			took := poll(t, "a surviving node owning the SharedCounter", ttl/3, 10*time.Millisecond, func(ctx context.Context) bool {
				newOwner = agreedOwner(ctx, survivors, clusterapp.SharedCounterName)
				return newOwner != "" && newOwner != owner.id
			})
			t.Logf("%s owned the SharedCounter %v after SIGTERM to %s (lease TTL %v)", newOwner, took.Round(time.Millisecond), owner.id, ttl)
			<-owner.done
			if owner.err != nil {
				t.Fatalf("owner %s did not exit cleanly after SIGTERM: %v", owner.name, owner.err)
			}
			t.Logf("%s exited %v after SIGTERM", owner.name, time.Since(stopped).Round(time.Millisecond))
			c.pr.wait(t, "every worker bumping again after the hand-off", 20*time.Second, func() bool {
				now := c.ackedBy()
				for i := range now {
					if now[i] < before[i]+5 {
						return false
					}
				}
				return true
			})
			c.checkMovedClients(owner)
			c.verify()
		})
	}
}
