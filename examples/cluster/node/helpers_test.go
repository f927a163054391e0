package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/live-go/live/client"
	"github.com/live-go/live/examples/cluster/internal/clusterapp"
	livenats "github.com/live-go/live/nats"
)

// testSecret is the state secret every node of a test shares.
const testSecret = "cluster-example-test-secret-0123456789abcdef"

// ---- services ----

// backendCase is a cluster backend the process tests run against.
type backendCase struct {
	name string
	// check returns why the service is unusable, or "".
	check func() string
	// args returns the node flags that join the cluster named prefix.
	args func(prefix string) []string
	// drop deletes what the cluster named prefix left in the service.
	drop func(t *testing.T, prefix string)
}

func redisAddr() string {
	if a := os.Getenv("LIVE_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func natsURL() string {
	if u := os.Getenv("LIVE_NATS_URL"); u != "" {
		return u
	}
	return livenats.DefaultURL
}

var backends = []backendCase{
	{
		name: "redis",
		check: func() string {
			rdb := redis.NewClient(&redis.Options{Addr: redisAddr(), MaxRetries: -1})
			defer rdb.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := rdb.Ping(ctx).Err(); err != nil {
				return fmt.Sprintf("Redis at %s unreachable (set LIVE_REDIS_ADDR): %v", redisAddr(), err)
			}
			return ""
		},
		args: func(prefix string) []string { return []string{"-redis", redisAddr(), "-prefix", prefix} },
		drop: func(t *testing.T, prefix string) {
			rdb := redis.NewClient(&redis.Options{Addr: redisAddr()})
			defer rdb.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			iter := rdb.Scan(ctx, 0, prefix+":*", 500).Iterator()
			var keys []string
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			if err := iter.Err(); err != nil {
				t.Logf("scanning the keys of %s: %v", prefix, err)
			}
			if len(keys) > 0 {
				if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
					t.Logf("deleting the keys of %s: %v", prefix, err)
				}
			}
		},
	},
	{
		name: "nats",
		check: func() string {
			nc, err := nats.Connect(natsURL(), nats.Timeout(2*time.Second), nats.NoReconnect())
			if err != nil {
				return fmt.Sprintf("NATS at %s unreachable (set LIVE_NATS_URL): %v", natsURL(), err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err = js.AccountInfo(ctx)
				cancel()
			}
			if err != nil {
				return fmt.Sprintf("NATS at %s has no JetStream: %v", natsURL(), err)
			}
			return ""
		},
		args: func(prefix string) []string { return []string{"-nats", natsURL(), "-prefix", prefix} },
		drop: func(t *testing.T, prefix string) {
			nc, err := nats.Connect(natsURL(), nats.Timeout(2*time.Second), nats.NoReconnect())
			if err != nil {
				t.Logf("dropping the buckets of %s: %v", prefix, err)
				return
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, b := range []string{livenats.LeaseBucket(prefix), livenats.StoreBucket(prefix)} {
				if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
					t.Logf("dropping bucket %s: %v", b, err)
				}
			}
		},
	},
}

// requireService skips the test when the backend is unusable, or fails it
// when LIVE_REQUIRE_SERVICES=1.
func requireService(t *testing.T, b backendCase) {
	t.Helper()
	reason := b.check()
	if reason == "" {
		return
	}
	if os.Getenv("LIVE_REQUIRE_SERVICES") == "1" {
		t.Fatalf("LIVE_REQUIRE_SERVICES=1 but %s", reason)
	}
	t.Skipf("skipping: %s (LIVE_REQUIRE_SERVICES=1 fails instead)", reason)
}

// newPrefix returns a backend prefix of the test's own.
func newPrefix() string { return "ex" + strings.ToLower(rand.Text()[:12]) }

// ---- node processes ----

// buildNode builds this command into a temporary directory.
func buildNode(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the node: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "node")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects a process's log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running node process.
type proc struct {
	name string
	id   string // node id
	addr string // host:port it listens on
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{} // closed when the process exited
	err  error         // Wait's result, set before done closes
}

// startNode starts a node process with args and waits (bounded) for it to
// listen.
func startNode(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, logs: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-node", name}, args...)...)
	p.cmd.Env = append(os.Environ(), "LIVE_STATE_SECRET="+testSecret)
	p.cmd.Stderr = p.logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case ready <- sc.Text():
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t, syscall.SIGTERM)
		if t.Failed() {
			t.Logf("---- log of %s ----\n%s", p.name, p.logs.String())
		}
	})
	select {
	case line := <-ready:
		// "node <id> listening on http://<addr> (<backend>)"
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "node" || !strings.HasPrefix(f[4], "http://") {
			t.Fatalf("%s printed %q", name, line)
		}
		p.id, p.addr = f[1], strings.TrimPrefix(f[4], "http://")
	case <-p.done:
		t.Fatalf("%s exited before listening: %v\n%s", name, p.err, p.logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not listen within 15s\n%s", name, p.logs.String())
	}
	return p
}

// stop signals the process (unless it exited) and waits for it, killing it
// after 10 s.
func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not exit within 10s of %v; killing it", p.name, sig)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// statusClient asks nodes for their status without keeping connections
// (and their goroutines) open.
var statusClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// status fetches the node's /cluster route.
func (p *proc) status(ctx context.Context) (clusterapp.Status, error) {
	var st clusterapp.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/cluster", nil)
	if err != nil {
		return st, err
	}
	res, err := statusClient.Do(req)
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /cluster: %s", res.Status)
	}
	err = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st)
	return st, err
}

// agreedOwner returns the owner of name that every process of procs
// reports, or "" when they do not agree or nobody owns it.
func agreedOwner(ctx context.Context, procs []*proc, name string) string {
	owner := ""
	for _, p := range procs {
		st, err := p.status(ctx)
		if err != nil {
			return ""
		}
		o := st.Owners[name]
		if o.Node == "" || o.Error != "" || (owner != "" && o.Node != owner) {
			return ""
		}
		owner = o.Node
	}
	return owner
}

// poll calls cond every interval until it reports true; it fails the test
// when timeout passes first. It returns how long it took.
func poll(t *testing.T, what string, timeout, interval time.Duration, cond func(ctx context.Context) bool) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		ok := cond(ctx)
		cancel()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
}

// ---- clients ----

// endpoints is a client-side list of node addresses: connections go to the
// current one, and to the next one that accepts when it refuses, the way a
// client behind a load balancer lands on a surviving node.
type endpoints struct {
	mu    sync.Mutex
	addrs []string
	cur   int
}

func newEndpoints(addrs []string, first int) *endpoints {
	return &endpoints{addrs: append([]string(nil), addrs...), cur: first}
}

// dial ignores the address of the URL and dials the current endpoint, or
// the following ones in turn.
func (e *endpoints) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	e.mu.Lock()
	n, start := len(e.addrs), e.cur
	addrs := e.addrs
	e.mu.Unlock()
	var d net.Dialer
	var errs []error
	for i := range n {
		k := (start + i) % n
		c, err := d.DialContext(ctx, network, addrs[k])
		if err == nil {
			e.mu.Lock()
			e.cur = k
			e.mu.Unlock()
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// current returns the address connections go to now.
func (e *endpoints) current() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addrs[e.cur]
}

// dialClient connects a Go client through eps, starting at its current
// endpoint, with fast reconnection.
func dialClient(t *testing.T, eps *endpoints) *client.Client {
	t.Helper()
	tr := &http.Transport{DialContext: eps.dial}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://"+eps.current()+"/api/live/ws", &client.Options{
		HTTPClient:     &http.Client{Transport: tr},
		RequestTimeout: 10 * time.Second,
		Reconnect:      client.ReconnectOptions{InitialDelay: 50 * time.Millisecond, MaxDelay: 400 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("dial %s: %v", eps.current(), err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		tr.CloseIdleConnections()
	})
	return c
}
