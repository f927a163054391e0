package livenats_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
	"github.com/nats-io/nats.go"
)

// natsServer is a nats-server child process with JetStream on its own
// port and storage directory, which a test can restart.
type natsServer struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// startNATSServer starts a nats-server of its own, skipping (or failing
// under LIVE_REQUIRE_SERVICES=1) when the binary is not installed.
func startNATSServer(t testing.TB) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			unavailable(t, "no nats-server binary to restart")
		}
		bin = "/usr/sbin/nats-server"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "find a free port")
	port := l.Addr().(*net.TCPAddr).Port
	must(t, l.Close(), "free the port")
	s := &natsServer{t: t, bin: bin, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// start runs the server and waits until it accepts connections.
func (s *natsServer) start() {
	s.t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	must(s.t, err, "server log")
	defer log.Close()
	s.cmd = exec.Command(s.bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-sd", filepath.Join(s.dir, "js"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	must(s.t, s.cmd.Start(), "start nats-server")
	eventually(s.t, "nats-server to accept connections", func() bool {
		nc, err := nats.Connect(s.url(), nats.NoReconnect(), nats.Timeout(time.Second))
		if err != nil {
			return false
		}
		defer nc.Close()
		return true
	})
}

// stop kills the server and waits for it.
func (s *natsServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// The server dies and comes back (same port, same storage): nodes report
// the outage through OnError and Stats instead of failing, reconnect,
// subscribe again, and delivery resumes; leases and tokens persisted in
// JetStream are still there.
func TestReconnect(t *testing.T) {
	srv := startNATSServer(t)
	var outages [2]atomic.Int64
	base := livenats.Options{
		URL:            srv.url(),
		ReconnectWait:  20 * time.Millisecond,
		ConnectOptions: []nats.Option{nats.ReconnectJitter(0, 0)},
	}
	prefix := newPrefix()
	nodes := make([]*livenats.Cluster, 2)
	reconnected := make([]chan struct{}, 2)
	for i := range nodes {
		o := base
		o.Prefix, o.NodeID = prefix, fmt.Sprintf("node-%d", i+1)
		o.OnError = func(op string, err error) {
			if op == "connection" && errors.Is(err, livenats.ErrDisconnected) {
				outages[i].Add(1)
			}
		}
		nodes[i] = newNode(t, o)
		reconnected[i] = make(chan struct{}, 1)
		nodes[i].OnReconnect(func() {
			select {
			case reconnected[i] <- struct{}{}:
			default:
			}
		})
	}
	a, b := nodes[0], nodes[1]
	ctx := testCtx(t)
	got := make(chan string, 1024)
	sub, err := b.Subscribe(ctx, "live.room.r", func(data []byte) { got <- string(data) })
	must(t, err, "Subscribe")
	defer sub.Close()
	must(t, a.Publish(ctx, "live.room.r", []byte("before")), "Publish")
	if m := <-got; m != "before" {
		t.Fatalf("got %q", m)
	}
	lease, err := a.AcquireLease(ctx, "singleton/R", time.Minute)
	must(t, err, "AcquireLease")
	must(t, a.PutFenced(ctx, "singleton-state/R", lease.Token, []byte("state"), 0), "PutFenced")

	srv.stop()
	eventually(t, "both nodes to report the outage", func() bool {
		return outages[0].Load() > 0 && outages[1].Load() > 0
	})
	for i, c := range nodes {
		if c.Stats().Errors == 0 {
			t.Fatalf("node %d: the outage is not in Stats.Errors", i)
		}
	}
	srv.start()
	for i := range nodes {
		select {
		case <-reconnected[i]:
		case <-time.After(10 * time.Second):
			t.Fatalf("node %d did not reconnect", i)
		}
		if n := nodes[i].Stats().Reconnects; n != 1 {
			t.Fatalf("node %d: Stats.Reconnects = %d, want 1", i, n)
		}
	}
	// b's subscription is back: a message published now arrives. (One
	// published while b was not yet subscribed again is lost, as always
	// with core NATS: publish until one arrives.)
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		if err := a.Publish(ctx, "live.room.r", fmt.Appendf(nil, "after-%d", n)); err != nil {
			t.Logf("Publish right after the restart: %v", err)
		}
		select {
		case m := <-got:
			if !strings.HasPrefix(m, "after-") {
				t.Fatalf("got %q after the restart", m)
			}
		case <-tick.C:
			continue
		case <-deadline:
			t.Fatal("no delivery after the server came back")
		}
		break
	}
	// JetStream state survived the restart (it may need a moment to
	// recover its streams).
	var h live.Lease
	eventually(t, "the lease to be readable after the restart", func() bool {
		h, err = b.LeaseHolder(ctx, "singleton/R")
		return err == nil
	})
	if h != lease {
		t.Fatalf("lease after the restart %+v, want %+v", h, lease)
	}
	must(t, a.ReleaseLease(ctx, lease), "ReleaseLease")
	l2, err := b.AcquireLease(ctx, "singleton/R", time.Minute)
	must(t, err, "AcquireLease after the restart")
	if l2.Token <= lease.Token {
		t.Fatalf("token after the restart %d, not above %d", l2.Token, lease.Token)
	}
	v, tok, err := b.GetFenced(ctx, "singleton-state/R")
	if err != nil || string(v) != "state" || tok != lease.Token {
		t.Fatalf("mirrored state after the restart: %q, %d, %v", v, tok, err)
	}
	must(t, b.PutFenced(ctx, "singleton-state/R", l2.Token, []byte("new owner"), 0), "PutFenced")
	if err := a.PutFenced(ctx, "singleton-state/R", lease.Token, []byte("stale"), 0); !errors.Is(err, live.ErrFenced) {
		t.Fatalf("a stale write after the restart: %v, want ErrFenced", err)
	}
}
