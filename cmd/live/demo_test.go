package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 20 * time.Second

// lineLog collects the lines written to a reader (a process's stderr) and
// lets a test wait for one.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
	done    chan struct{} // closed at EOF
}

func watchLines(r io.Reader) *lineLog {
	l := &lineLog{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r) // keep the writer unblocked after a scan error
	}()
	return l
}

// waitFor returns the first line containing substr.
func (l *lineLog) waitFor(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		l.mu.Lock()
		for _, line := range l.lines {
			if strings.Contains(line, substr) {
				l.mu.Unlock()
				return line
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-l.done:
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, line := range l.lines {
				if strings.Contains(line, substr) {
					return line
				}
			}
			t.Fatalf("output ended without %q:\n%s", substr, strings.Join(l.lines, "\n"))
		case <-deadline:
			t.Fatalf("timed out waiting for %q:\n%s", substr, l.String())
		}
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listenAddrRE = regexp.MustCompile(`\baddr=(\S+)`)

// listenAddr waits for the "listening" log line and returns its address.
func listenAddr(t *testing.T, logs *lineLog) string {
	t.Helper()
	line := logs.waitFor(t, "msg=listening")
	m := listenAddrRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no addr= in %q", line)
	}
	host, port, err := net.SplitHostPort(m[1])
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("listening address %q: want 127.0.0.1 and the real port", m[1])
	}
	return m[1]
}

// checkPage fetches the demo page.
func checkPage(t *testing.T, addr string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: waitTimeout}).Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/api/live/ws") {
		t.Fatalf("GET / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// dialDemo opens a WebSocket and checks CONNECTION_ESTABLISHED.
func dialDemo(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/live/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Type         string `json:"type"`
		ConnectionID string `json:"connectionId"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Type != "CONNECTION_ESTABLISHED" || m.ConnectionID == "" {
		t.Fatalf("first frame %s: want CONNECTION_ESTABLISHED with a connectionId", data)
	}
	return c
}

// waitGoingAway reads until the server closes c and checks the code.
func waitGoingAway(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
			t.Fatalf("connection ended with %v (status %d), want close 1001", err, got)
		}
		return
	}
}

func TestDemoInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	logs := watchLines(pr)
	var stdout syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"demo", "-addr", "127.0.0.1:0", "-log-level", "debug"}, &stdout, pw)
		pw.Close()
	}()

	addr := listenAddr(t, logs)
	checkPage(t, addr)
	c := dialDemo(t, addr)

	cancel()
	waitGoingAway(t, c)
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("exit code %d\n%s", got, logs)
		}
	case <-time.After(waitTimeout):
		t.Fatal("demo did not stop")
	}
	<-logs.done
	logs.waitFor(t, "msg=stopped")
	if want := "http://" + addr + "/"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q does not show %s", stdout.String(), want)
	}
}

func TestDemoAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, stdout, stderr := runCLI(t, "demo", "-addr", ln.Addr().String())
	if code != 1 || stdout != "" || !strings.Contains(stderr, "live demo: listen:") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestPageURL(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/"},
		{"0.0.0.0:8080", "http://localhost:8080/"},
		{"[::]:8080", "http://localhost:8080/"},
		{"[::1]:9000", "http://[::1]:9000/"},
		{"example.test:80", "http://example.test:80/"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := fakeAddr(tt.addr)
			if got := pageURL(a); got != tt.want {
				t.Errorf("pageURL(%s) = %s, want %s", tt.addr, got, tt.want)
			}
		})
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// TestDemoBinary builds the live binary and drives it as a user would:
// start, fetch the page, connect, interrupt, clean exit.
func TestDemoBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGINT, which Windows processes cannot receive")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	bin := filepath.Join(t.TempDir(), "live")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "demo", "-addr", "127.0.0.1:0")
	cmd.Env = withoutEnv(os.Environ(), "LIVE_STATE_SECRET")
	var stdout syncBuffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	logs := watchLines(stderr)

	addr := listenAddr(t, logs)
	logs.waitFor(t, "LIVE_STATE_SECRET") // the no-secret warning is visible
	checkPage(t, addr)
	c := dialDemo(t, addr)

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitGoingAway(t, c)
	<-logs.done // stderr closed: the process is exiting
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, logs)
	}
	logs.waitFor(t, `msg="shutting down"`)
	logs.waitFor(t, "msg=stopped")
	if want := "http://" + addr + "/"; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout %q does not show %s", stdout.String(), want)
	}
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// demoRun is a live demo running in-process.
type demoRun struct {
	addr   string
	logs   *lineLog
	cancel context.CancelFunc
	code   chan int
}

// startDemoInProcess runs "live demo -addr 127.0.0.1:0 args..." until stop.
func startDemoInProcess(t *testing.T, args ...string) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &demoRun{logs: watchLines(pr), cancel: cancel, code: make(chan int, 1)}
	go func() {
		d.code <- run(ctx, append([]string{"demo", "-addr", "127.0.0.1:0"}, args...), io.Discard, pw)
		pw.Close()
	}()
	t.Cleanup(func() { d.stop(t) })
	d.addr = listenAddr(t, d.logs)
	return d
}

// stop cancels the demo and waits for a clean exit (once).
func (d *demoRun) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	d.cancel = nil
	select {
	case code := <-d.code:
		if code != 0 {
			t.Errorf("exit code %d\n%s", code, d.logs)
		}
	case <-time.After(waitTimeout):
		t.Fatal("demo did not stop")
	}
	<-d.logs.done
}

// request sends msg on c with a requestId and returns the reply.
func request(t *testing.T, c *websocket.Conn, msg map[string]any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	msg["requestId"], msg["expectResponse"] = "r1", true
	data, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, data); err != nil {
		t.Fatal(err)
	}
	for {
		_, frame, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the reply to %v: %v", msg["type"], err)
		}
		var batch []map[string]any
		if len(frame) > 0 && frame[0] == '[' {
			err = json.Unmarshal(frame, &batch)
		} else {
			var m map[string]any
			err = json.Unmarshal(frame, &m)
			batch = append(batch, m)
		}
		if err != nil {
			t.Fatalf("bad frame %s: %v", frame, err)
		}
		for _, m := range batch {
			if m["requestId"] == "r1" {
				return m
			}
		}
	}
}

// TestDemoSecret checks where the demo's state secret comes from, by what
// matters: a signed state from one run rehydrates on the next run exactly
// when both use the same secret.
func TestDemoSecret(t *testing.T) {
	const secretA = "0123456789abcdef0123456789abcdef-a"
	const secretB = "0123456789abcdef0123456789abcdef-b"
	tests := []struct {
		name         string
		first, again []string // flags of the two runs
		envFirst     string   // LIVE_STATE_SECRET of the two runs
		envAgain     string
		insecure     bool // the development-secret warning is logged
		rehydrates   bool
	}{
		{name: "flag", first: []string{"-secret", secretA}, again: []string{"-secret", secretA}, rehydrates: true},
		{name: "env", envFirst: secretA, envAgain: secretA, rehydrates: true},
		{name: "flag over env", first: []string{"-secret", secretA}, envAgain: secretA, envFirst: secretB, again: nil, rehydrates: true},
		{name: "development default", insecure: true, rehydrates: true},
		{name: "secret changed", envFirst: secretA, envAgain: secretB},
		{name: "default then secret", envAgain: secretA, insecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LIVE_STATE_SECRET", tt.envFirst)
			first := startDemoInProcess(t, tt.first...)
			warned := logged(first.logs, "INSECURE") // logged before msg=listening
			if warned != tt.insecure {
				t.Errorf("development-secret warning logged = %v, want %v\n%s", warned, tt.insecure, first.logs)
			}
			c := dialDemo(t, first.addr)
			r := request(t, c, map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m",
				"payload": map[string]any{"component": "Counter", "props": map[string]any{}}})
			res, _ := r["result"].(map[string]any)
			signed := res["signedState"]
			if r["success"] != true || signed == nil {
				t.Fatalf("mount: %v", r)
			}
			_ = c.CloseNow()
			first.stop(t)

			t.Setenv("LIVE_STATE_SECRET", tt.envAgain)
			again := startDemoInProcess(t, tt.again...)
			c = dialDemo(t, again.addr)
			r = request(t, c, map[string]any{"type": "COMPONENT_REHYDRATE", "componentId": res["componentId"],
				"payload": map[string]any{"component": "Counter", "signedState": signed}})
			if got := r["success"] == true; got != tt.rehydrates {
				t.Errorf("rehydrate on the next run: %v, want success=%v", r, tt.rehydrates)
			}
		})
	}
}

func TestDemoSecretTooShort(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{name: "flag", args: []string{"-secret", "short"}, want: "the secret from -secret is 5 bytes: it needs at least 32"},
		{name: "env", env: "also-short", want: "the secret from LIVE_STATE_SECRET is 10 bytes: it needs at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LIVE_STATE_SECRET", tt.env)
			code, stdout, stderr := runCLI(t, append([]string{"demo", "-addr", "127.0.0.1:0"}, tt.args...)...)
			if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Fatalf("code %d, stdout %q, stderr %q; want 2 and %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

// logged reports whether a line containing substr was collected so far.
func logged(l *lineLog, substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			return true
		}
	}
	return false
}
