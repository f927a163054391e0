package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Bounds of every wait. The whole module must stay well under two minutes.
const (
	// browserTimeout bounds the life of the browser the tests share.
	browserTimeout = 110 * time.Second
	// stepTimeout bounds one browser action or wait.
	stepTimeout = 20 * time.Second
	// procTimeout bounds the start and the stop of a demo process.
	procTimeout = 20 * time.Second
	// buildTimeout bounds the build of the live command.
	buildTimeout = 3 * time.Minute
)

// testSecret signs the demo's state in these tests (LIVE_STATE_SECRET).
const testSecret = "e2e-test-secret-e2e-test-secret-e2e-test-secret"

// chromiumCandidates are looked up in order when LIVE_CHROMIUM is unset.
var chromiumCandidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// chromium returns the browser binary, or skips the test when there is none
// (fails when LIVE_REQUIRE_SERVICES=1).
func chromium(t *testing.T) string {
	t.Helper()
	candidates := chromiumCandidates
	if p := os.Getenv("LIVE_CHROMIUM"); p != "" {
		candidates = []string{p}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("Chromium not found (tried %s): install the Debian package chromium "+
		"(apt-get install -y chromium) or set LIVE_CHROMIUM", strings.Join(candidates, ", "))
	if os.Getenv("LIVE_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + "; LIVE_REQUIRE_SERVICES=1, so this is an error")
	}
	t.Skip(msg + "; skipping the browser tests (set LIVE_REQUIRE_SERVICES=1 to make this an error)")
	return ""
}

// ---- the live binary ----

var liveBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain stops the shared browser and removes the binary built by
// liveBinary.
func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	for _, dir := range []string{liveBin.dir, browser.dataDir} {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// liveBinary builds cmd/live of the repository that holds this module,
// once per test process, and returns its path.
func liveBinary(t *testing.T) string {
	t.Helper()
	liveBin.once.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			liveBin.err = err
			return
		}
		if _, err := os.Stat(filepath.Join(root, "cmd", "live")); err != nil {
			liveBin.err = fmt.Errorf("the repository root is not %s: %w", root, err)
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			liveBin.err = fmt.Errorf("the go tool is needed to build cmd/live: %w", err)
			return
		}
		if liveBin.dir, err = os.MkdirTemp("", "live-e2e-"); err != nil {
			liveBin.err = err
			return
		}
		liveBin.path = filepath.Join(liveBin.dir, "live")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", liveBin.path, "./cmd/live")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			liveBin.err = fmt.Errorf("go build ./cmd/live: %w\n%s", err, out)
		}
	})
	if liveBin.err != nil {
		t.Fatal(liveBin.err)
	}
	return liveBin.path
}

// ---- the demo process ----

// lineLog collects the lines of a process's output and lets a test wait
// for one.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every line
	done    chan struct{} // closed at EOF
}

func watchLines(r io.Reader) *lineLog {
	l := &lineLog{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
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

// find returns the first line containing substr.
func (l *lineLog) find(substr string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			return line, true
		}
	}
	return "", false
}

// waitFor returns the first line containing substr, waiting for it.
func (l *lineLog) waitFor(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.After(procTimeout)
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		if line, ok := l.find(substr); ok {
			return line
		}
		select {
		case <-changed:
		case <-l.done:
			if line, ok := l.find(substr); ok {
				return line
			}
			t.Fatalf("output ended without %q:\n%s", substr, l)
		case <-deadline:
			t.Fatalf("timed out waiting for %q:\n%s", substr, l)
		}
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// demoProc is a running "live demo".
type demoProc struct {
	cmd    *exec.Cmd
	addr   string   // host:port it listens on
	logs   *lineLog // its standard error (slog text lines)
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

var listenAddrRE = regexp.MustCompile(`\baddr=(\S+)`)

// startDemo runs "live demo -addr addr" with LIVE_STATE_SECRET=testSecret
// and waits until it listens. The process is killed at the end of the test
// if it still runs.
func startDemo(t *testing.T, addr string) *demoProc {
	t.Helper()
	cmd := exec.Command(liveBinary(t), "demo", "-addr", addr)
	cmd.Env = append(withoutEnv(os.Environ(), "LIVE_STATE_SECRET"), "LIVE_STATE_SECRET="+testSecret)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start live demo: %v", err)
	}
	p := &demoProc{cmd: cmd, logs: watchLines(stderr), exited: make(chan struct{})}
	go func() {
		<-p.logs.done // Wait closes the pipe: read it all first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("live demo on %s logged:\n%s", p.addr, p.logs)
		}
	})
	line := p.logs.waitFor(t, "msg=listening")
	m := listenAddrRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no addr= in %q", line)
	}
	p.addr = m[1]
	if _, port, err := net.SplitHostPort(p.addr); err != nil || port == "0" {
		t.Fatalf("listening address %q: want the real port", p.addr)
	}
	return p
}

// url returns the demo page's URL.
func (p *demoProc) url() string { return "http://" + p.addr + "/" }

// stop sends SIGTERM and waits for a clean exit.
func (p *demoProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(procTimeout):
		t.Fatalf("live demo did not stop after SIGTERM:\n%s", p.logs)
	}
	if p.err != nil {
		t.Fatalf("live demo exited with %v:\n%s", p.err, p.logs)
	}
	if _, ok := p.logs.find("msg=stopped"); !ok {
		t.Fatalf("live demo did not log msg=stopped:\n%s", p.logs)
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

// ---- the browser ----

// browser is the headless Chromium the tests share (starting one takes
// seconds); each test opens its own tabs.
var browser struct {
	once    sync.Once
	ctx     context.Context
	cancel  func()
	dataDir string
	err     error
}

// newBrowser returns the context of the shared headless Chromium, starting
// it on first use; tabs are made from it with newTab. It lives at most
// browserTimeout, and TestMain stops it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	exe := chromium(t)
	browser.once.Do(func() {
		if browser.dataDir, browser.err = os.MkdirTemp("", "live-e2e-chromium-"); browser.err != nil {
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(exe),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			// Tabs other than the front one keep running at full speed.
			chromedp.Flag("disable-background-timer-throttling", true),
			chromedp.Flag("disable-backgrounding-occluded-windows", true),
			chromedp.Flag("disable-renderer-backgrounding", true),
			chromedp.UserDataDir(browser.dataDir),
			chromedp.WindowSize(1280, 1000),
		}
		ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
		browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
		browser.ctx = browserCtx
		browser.cancel = func() {
			cancelBrowser()
			cancelAlloc()
			cancelTimeout()
		}
		// The first run starts the browser (and opens a blank first tab).
		if err := chromedp.Do(browserCtx); err != nil {
			browser.err = fmt.Errorf("start %s: %w", exe, err)
		}
	})
	if browser.err != nil {
		t.Fatal(browser.err)
	}
	return browser.ctx
}

// tab is one browser tab and what its page wrote to the console.
type tab struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	seen    chan struct{} // closed and replaced on every console message
}

// newTab opens a tab in browser. Its console is recorded from the start.
func newTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tb := &tab{name: name, ctx: ctx, cancel: cancel, seen: make(chan struct{})}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		cancel()
		t.Fatalf("open tab %s: %v", name, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			close(tb.seen)
			tb.seen = make(chan struct{})
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if dir := os.Getenv("LIVE_ARTIFACTS_DIR"); t.Failed() && dir != "" {
			saveFailureShot(t, tb, dir)
		}
		cancel()
		<-done
		if t.Failed() {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			for _, m := range tb.console {
				t.Logf("tab %s console: %s", name, m)
			}
		}
	})
	return tb
}

// close closes the tab (its page goes away as when a person closes it).
func (tb *tab) close(t *testing.T) {
	t.Helper()
	if err := chromedp.Cancel(tb.ctx); err != nil {
		t.Fatalf("close tab %s: %v", tb.name, err)
	}
}

// do runs actions, each bounded by stepTimeout.
func (tb *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for _, a := range actions {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		err := chromedp.Do(ctx, a)
		cancel()
		if err != nil {
			t.Fatalf("tab %s: %s: %v", tb.name, what, err)
		}
	}
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](t *testing.T, tb *tab, what, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("tab %s: %s: %v", tb.name, what, err)
	}
	return v
}

// waitJS waits until the JavaScript expression is truthy, checking every
// 50 ms and on every DOM change.
func (tb *tab) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		t.Fatalf("tab %s: waiting for %s (%s): %v\npage error line: %q", tb.name, what, expr, err, tb.errorLine())
	}
}

// waitText waits until the text of the element with id is want.
func (tb *tab) waitText(t *testing.T, id, want string) {
	t.Helper()
	tb.waitJS(t, fmt.Sprintf("#%s to read %q", id, want),
		fmt.Sprintf(`document.getElementById(%q).textContent.trim() === %q`, id, want))
}

// text returns the trimmed text of the element with id.
func (tb *tab) text(t *testing.T, id string) string {
	t.Helper()
	return eval[string](t, tb, "read #"+id, fmt.Sprintf(`document.getElementById(%q).textContent.trim()`, id))
}

// errorLine returns the text of the page's error line, "" if it cannot.
func (tb *tab) errorLine() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("error")||{}).textContent||""`))
	return s
}

// open loads the demo page and waits until every panel's component is
// mounted (its controls are enabled).
func (tb *tab) open(t *testing.T, url string) {
	t.Helper()
	tb.do(t, "open "+url, chromedp.Navigate(url))
	tb.waitJS(t, "the connection", `document.getElementById("status").textContent.startsWith("connected")`)
	for _, id := range []string{"inc", "todo-add", "chat-join-btn", "upload-btn"} {
		tb.waitJS(t, "#"+id+" enabled (its component mounted)", fmt.Sprintf(`!document.getElementById(%q).disabled`, id))
	}
}

// problems returns the console messages that mean a broken page: uncaught
// exceptions, unhandled rejections, console.error calls and browser log
// errors (failed loads, CSP violations). It first makes sure that every
// message written so far was recorded, with a marker message.
func (tb *tab) problems(t *testing.T) []chromedp.ConsoleMessage {
	t.Helper()
	marker := fmt.Sprintf("e2e-marker-%d", rand.Int64())
	tb.do(t, "write the console marker", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`console.info(%q)`, marker)))
	deadline := time.After(stepTimeout)
	for {
		tb.mu.Lock()
		var out []chromedp.ConsoleMessage
		found := false
		for _, m := range tb.console {
			switch {
			case m.Text == marker:
				found = true
			case m.IsException() || m.Type == chromedp.ConsoleError:
				out = append(out, m)
			}
		}
		seen := tb.seen
		tb.mu.Unlock()
		if found {
			return out
		}
		select {
		case <-seen:
		case <-deadline:
			t.Fatalf("tab %s: the console marker never arrived", tb.name)
		}
	}
}

// checkConsoleClean fails the test if the page reported a problem.
func (tb *tab) checkConsoleClean(t *testing.T) {
	t.Helper()
	for _, m := range tb.problems(t) {
		where := ""
		if m.URL != "" {
			where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		t.Errorf("tab %s: console %s%s", tb.name, m, where)
	}
}

// screenshot captures the full page as PNG.
func (tb *tab) screenshot(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("tab %s: screenshot: %v", tb.name, err)
	}
	return shot
}

// ---- artifacts and images ----

// saveFailureShot saves what tb shows into dir, for a failed test.
func saveFailureShot(t *testing.T, tb *tab, dir string) {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("tab %s: no failure screenshot: %v", tb.name, err)
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + tb.name + "-failure.png"
	path := filepath.Join(dir, name)
	err = os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, shot, 0o644)
	}
	if err != nil {
		t.Logf("tab %s: save failure screenshot: %v", tb.name, err)
		return
	}
	t.Logf("tab %s at the failure: %s", tb.name, path)
}

// artifactsDir returns where to save artifacts: $LIVE_ARTIFACTS_DIR (made
// if missing), else a temporary directory of the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LIVE_ARTIFACTS_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("LIVE_ARTIFACTS_DIR: %v", err)
	}
	return dir
}

// Thresholds of checkNotBlank.
const (
	// minColours is the fewest distinct colours a rendered demo page has:
	// text, borders, buttons and the accent colour, anti-aliased.
	minColours = 24
	// maxBackground is the largest share of the pixels one colour may
	// cover.
	maxBackground = 0.97
)

// checkNotBlank decodes a PNG and reports an error when it looks like a
// blank or broken page: too few distinct colours, or one colour covering
// nearly everything.
func checkNotBlank(data []byte) error {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("decode screenshot: %w", err)
	}
	b := img.Bounds()
	if b.Dx() < 100 || b.Dy() < 100 {
		return fmt.Errorf("screenshot is %dx%d: too small for the page", b.Dx(), b.Dy())
	}
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	total := b.Dx() * b.Dy()
	if len(counts) < minColours {
		return fmt.Errorf("screenshot has %d distinct colours, want at least %d: blank or broken page", len(counts), minColours)
	}
	if share := float64(top) / float64(total); share > maxBackground {
		return fmt.Errorf("one colour covers %.1f%% of the screenshot, want at most %.0f%%: blank or broken page", 100*share, 100*maxBackground)
	}
	return nil
}

// noisePNG returns a w×h PNG of seeded noise (so it barely compresses and
// needs several upload chunks).
func noisePNG(t *testing.T, w, h int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := r.Uint32()
			img.SetRGBA(x, y, color.RGBA{R: uint8(x * 255 / w), G: uint8(v), B: uint8(v >> 8), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
