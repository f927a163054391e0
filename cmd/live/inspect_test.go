package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// inspectCounter is the component the inspector tests mount.
type inspectCounter struct {
	live.Base
	Count int    `json:"count"`
	Label string `json:"label"`
}

func (c *inspectCounter) Increment(*live.Ctx) (int, error) {
	c.Count++
	return c.Count, nil
}

type inspectAddArgs struct {
	N int `json:"n"`
}

func (c *inspectCounter) Add(_ *live.Ctx, a inspectAddArgs) (int, error) {
	c.Count += a.N
	return c.Count, nil
}

func (c *inspectCounter) Fail(*live.Ctx) error {
	return &live.Error{Message: "it failed \x1b[31m on purpose"}
}

// startInspectServer serves a live server on httptest and returns its
// WebSocket URL.
func startInspectServer(t *testing.T) string {
	t.Helper()
	srv, err := live.New(live.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Register(srv, live.Component[inspectCounter]{
		Name:     "Counter",
		Actions:  []string{"increment", "add", "fail"},
		Writable: []string{"label"},
	}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + live.DefaultPrefix + "/ws"
}

// inspectScript runs the inspector with script on stdin and returns its
// output and error.
func inspectScript(t *testing.T, cfg inspectConfig, script string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := runInspect(ctx, cfg, strings.NewReader(script), &out, &errOut)
	return out.String(), errOut.String(), err
}

// wantInOrder checks that each pattern matches out, each after the
// previous match.
func wantInOrder(t *testing.T, out string, patterns ...string) {
	t.Helper()
	rest := out
	for _, p := range patterns {
		loc := regexp.MustCompile(p).FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("output lacks %q after the previous match:\n%s", p, out)
		}
		rest = rest[loc[1]:]
	}
}

const inspectSession = `# a scripted session
mount Counter {"label":"start"}
call increment
call add {"n": 41}
state
set label "renamed"
call fail
room join lobby {"topic":"x"}
room emit lobby ping {"a":1}
room leave lobby
send {"type":"ROOM_STATE_GET","componentId":"nobody","roomId":"lobby"}
unmount
quit
state
`

func TestInspectSession(t *testing.T) {
	url := startInspectServer(t)
	for _, tr := range []client.Transport{client.TransportWebSocket, client.TransportSSE, client.TransportHTTP} {
		t.Run(tr.String(), func(t *testing.T) {
			out, stderr, err := inspectScript(t, inspectConfig{url: url, transport: tr}, inspectSession)
			var fails string
			if err != nil {
				fails = err.Error()
			}
			// One command fails on purpose: "call fail". The "state" after
			// quit is never run.
			if fails != "1 command(s) failed" {
				t.Fatalf("runInspect error = %v, want 1 failed command\n%s", err, out)
			}
			if stderr != "" {
				t.Errorf("stderr (not a terminal) = %q, want nothing", stderr)
			}
			wantInOrder(t, out,
				`connected to ws://\S+ over `+tr.String()+` \(connection \S+\)\n`,
				`> mount Counter \{"label":"start"\}\n`,
				`< STATE_UPDATE `,
				`mounted Counter#\S+ \{"count":0,"label":"start"\}\n`,
				`> call increment\n`,
				`< STATE_DELTA Counter#\S+ \{"delta":\{"count":1\}\}`,
				`delta Counter#\S+ \{"count":1\}\n`,
				`result 1\n`,
				`> call add \{"n": 41\}\n`,
				`delta Counter#\S+ \{"count":42\}\n`,
				`result 42\n`,
				`> state\n`,
				`state Counter#\S+ \{"count":42,"label":"start"\}\n`,
				`delta Counter#\S+ \{"label":"renamed"\}\n`,
				`set label\n`,
				`> call fail\n`,
				`error: call: .*it failed \\u001b\[31m on purpose\n`,
				`> room join lobby \{"topic":"x"\}\n`,
				`joined lobby \{"roomId":"lobby","state":\{"topic":"x"\}\}\n`,
				`emitted ping to lobby\n`,
				`left lobby\n`,
				`> send `,
				`> unmount\n`,
				`unmounted Counter#\S+\n`,
				`> quit\n$`,
			)
			if strings.Contains(out, "\x1b") {
				t.Errorf("output has escape sequences although stdout is not a terminal:\n%q", out)
			}
		})
	}
}

func TestInspectModes(t *testing.T) {
	url := startInspectServer(t)
	tests := []struct {
		name   string
		cfg    inspectConfig
		script string
		want   []string // patterns, in order
		not    []string // substrings
	}{
		{
			name:   "quiet",
			cfg:    inspectConfig{quiet: true},
			script: "mount Counter\ncall increment\n",
			want:   []string{`mounted Counter#\S+ \{"count":0,"label":""\}\n`, `delta Counter#\S+ \{"count":1\}\n`, `result 1\n$`},
			not:    []string{"< ", "> "},
		},
		{
			name:   "raw",
			cfg:    inspectConfig{raw: true},
			script: "mount Counter\ncall increment\n",
			want:   []string{`< \{"type":"STATE_DELTA","componentId":"\S+","payload":\{"delta":\{"count":1\}\}`, `result 1\n`},
			not:    []string{"…"},
		},
		{
			name:   "mount flag with props",
			cfg:    inspectConfig{mount: "Counter", props: []byte(`{"label":"flag"}`), quiet: true},
			script: "state\n",
			want:   []string{`mounted Counter#\S+ \{"count":0,"label":"flag"\}\n`, `state Counter#\S+ \{"count":0,"label":"flag"\}\n$`},
		},
		{
			name:   "end of input quits",
			cfg:    inspectConfig{quiet: true},
			script: "mount Counter",
			want:   []string{`mounted Counter#\S+`},
		},
		{
			name:   "help",
			cfg:    inspectConfig{quiet: true},
			script: "help\n",
			want:   []string{`Commands:\n`, `room emit ROOM EVENT \[DATA\]`, `quit `},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.url = url
			out, _, err := inspectScript(t, tt.cfg, tt.script)
			if err != nil {
				t.Fatalf("runInspect: %v\n%s", err, out)
			}
			wantInOrder(t, out, tt.want...)
			for _, s := range tt.not {
				if strings.Contains(out, s) {
					t.Errorf("output contains %q:\n%s", s, out)
				}
			}
		})
	}
}

// TestInspectCommandErrors runs commands that fail: each prints an error,
// the session goes on, and the script's exit reports the count.
func TestInspectCommandErrors(t *testing.T) {
	url := startInspectServer(t)
	tests := []struct {
		line string
		want string
	}{
		{"frobnicate", `error: unknown command "frobnicate" (try help)`},
		{"call increment", `error: call: no component mounted (use mount NAME)`},
		{"state", `error: state: no component mounted`},
		{"mount", `error: mount: missing arguments`},
		{"mount Nope", `error: mount: client: MESSAGE_RESPONSE: `},
		{"mount Counter [1]", `error: mount: PROPS must be a JSON object`},
		{"send [1,2]", `error: send: the message must be a JSON object`},
		{"send", `error: send: the message must be a JSON object`},
		{"room", `error: usage: room join|leave ROOM`},
		{"room dance lobby", `error: usage: room join|leave ROOM`},
		{"room leave lobby extra", `error: room: unexpected "extra"`},
		{"unmount now", `error: unmount: unexpected "now"`},
		{"call", `error: call: missing arguments`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			out, _, err := inspectScript(t, inspectConfig{url: url, quiet: true}, tt.line+"\n")
			if err == nil || err.Error() != "1 command(s) failed" {
				t.Fatalf("runInspect error = %v, want 1 failed command", err)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestInspectConnectFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, _, err = inspectScript(t, inspectConfig{url: "ws://" + addr + "/api/live/ws"}, "quit\n")
	if err == nil || !strings.Contains(err.Error(), "connect to ws://"+addr) {
		t.Fatalf("runInspect error = %v, want a connect error", err)
	}
}

// TestInspectServerGone ends the session when the connection is lost for
// good (reconnection given up) while commands wait.
func TestInspectCancel(t *testing.T) {
	url := startInspectServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := net.Pipe() // stdin that never ends until closed
	defer pw.Close()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runInspect(ctx, inspectConfig{url: url, quiet: true}, pr, &out, &bytes.Buffer{}) }()
	if _, err := pw.Write([]byte("mount Counter\n")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runInspect after cancel = %v, want nil", err)
	}
	_ = pr.Close()
}

func TestInspectFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr (or stdout for help)
	}{
		{"help", []string{"help", "inspect"}, 0, "usage: live inspect [-url URL]"},
		{"-h", []string{"inspect", "-h"}, 0, "-transport transport"},
		{"bad transport", []string{"inspect", "-transport", "carrier-pigeon"}, 2, `invalid -transport "carrier-pigeon"`},
		{"bad header", []string{"inspect", "-header", "NoColon"}, 2, `invalid -header "NoColon"`},
		{"empty header name", []string{"inspect", "-header", ":v"}, 2, `invalid -header ":v"`},
		{"props without mount", []string{"inspect", "-props", "{}"}, 2, "-props needs -mount"},
		{"props not an object", []string{"inspect", "-mount", "C", "-props", "[]"}, 2, "-props must be a JSON object"},
		{"extra args", []string{"inspect", "now"}, 2, `unexpected arguments: ["now"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.want) {
				t.Fatalf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tt.want, stdout, stderr)
			}
		})
	}
}

func TestInspectConfigHeaders(t *testing.T) {
	f := &inspectFlags{url: "ws://x/api/live/ws", transport: "SSE", headers: headerFlags{"Origin: https://a.example", "x-token:abc", "X-Token: def"}}
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.transport != client.TransportSSE {
		t.Errorf("transport = %v, want sse", cfg.transport)
	}
	if got := cfg.header.Get("Origin"); got != "https://a.example" {
		t.Errorf("Origin = %q", got)
	}
	if got := cfg.header.Values("X-Token"); len(got) != 2 || got[0] != "abc" || got[1] != "def" {
		t.Errorf("X-Token = %q, want [abc def]", got)
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line string
		cmd  string
		args []string
		rest string
		err  bool
	}{
		{"", "", nil, "", false},
		{"   # comment", "", nil, "", false},
		{"QUIT", "quit", nil, "", false},
		{"mount Counter", "mount", []string{"Counter"}, "", false},
		{"mount  Counter   {\"a\": [1, 2]} ", "mount", []string{"Counter"}, `{"a": [1, 2]}`, false},
		{"call add {\"n\": 1}", "call", []string{"add"}, `{"n": 1}`, false},
		{"set label \"two words\"", "set", []string{"label"}, `"two words"`, false},
		{"room JOIN lobby {}", "room", []string{"join", "lobby"}, "{}", false},
		{"room emit lobby ev {\"x\": 1}", "room", []string{"emit", "lobby", "ev"}, `{"x": 1}`, false},
		{"room emit lobby", "", nil, "", true},
		{"room leave lobby", "room", []string{"leave", "lobby"}, "", false},
		{"send {\"type\": \"PING\"}", "send", nil, `{"type": "PING"}`, false},
		{"state now", "", nil, "", true},
		{"nope", "", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd, args, rest, err := parseLine(tt.line)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if cmd != tt.cmd || rest != tt.rest || strings.Join(args, "|") != strings.Join(tt.args, "|") {
				t.Fatalf("parseLine = %q %q %q, want %q %q %q", cmd, args, rest, tt.cmd, tt.args, tt.rest)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	long := `{"s":"` + strings.Repeat("é", 400) + `"}`
	tests := []struct {
		name string
		in   string
		full bool
		want string
	}{
		{"compacts", "{ \"a\" : [1, 2] }", false, `{"a":[1,2]}`},
		{"keeps escapes", `{"e":"\u001b[2J"}`, false, `{"e":"\u001b[2J"}`},
		{"escapes raw control bytes", "not json \x1b[2J\x07", false, `not json \u001b[2J\u0007`},
		{"escapes invalid UTF-8", "bad \xff\xfe", false, `bad \xff\xfe`},
		{"escapes line separators", "a\u2028b", false, `a\u2028b`},
		{"truncates on a rune", long, false, long[:300] + "… (808 bytes)"},
		{"full", long, true, long},
		{"cut inside a rune", "{" + long, false, "{" + long[:298] + "… (809 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize([]byte(tt.in), tt.full); got != tt.want {
				t.Fatalf("summarize = %q, want %q", got, tt.want)
			}
		})
	}
}

var errSentinel = errors.New("sentinel")

func TestScriptResult(t *testing.T) {
	if err := scriptResult(true, 3); err != nil {
		t.Errorf("interactive: %v, want nil", err)
	}
	if err := scriptResult(false, 0); err != nil {
		t.Errorf("no failures: %v, want nil", err)
	}
	if err := scriptResult(false, 2); err == nil || errors.Is(err, errSentinel) || err.Error() != "2 command(s) failed" {
		t.Errorf("2 failures: %v", err)
	}
}

func TestPrinterColour(t *testing.T) {
	tests := []struct {
		name   string
		colour bool
		print  func(p *printer)
		want   string
	}{
		{"result", true, func(p *printer) { p.result("result %s", "1") }, "\x1b[32mresult 1\x1b[0m\n"},
		{"failure escapes the server's text", true, func(p *printer) { p.failure("%s", "bad\x1b[2Jthing") }, "\x1b[31merror: bad\\u001b[2Jthing\x1b[0m\n"},
		{"no colour", false, func(p *printer) { p.change("delta %s", "x") }, "delta x\n"},
		{"quiet hides the echo", true, func(p *printer) { p.quiet = true; p.echo("call x") }, ""},
		{"binary frame", false, func(p *printer) { p.binary([]byte{0x02, 0, 1}) }, "< binary 0x02 (3 bytes)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			p := &printer{w: &b, colour: tt.colour}
			tt.print(p)
			if b.String() != tt.want {
				t.Fatalf("printed %q, want %q", b.String(), tt.want)
			}
		})
	}
}

// BenchmarkInbound measures printing one server message line.
func BenchmarkInbound(b *testing.B) {
	s := &inspector{p: &printer{w: io.Discard}}
	m := client.Message{
		Type:        "STATE_DELTA",
		ComponentID: "ab12cd34",
		Payload:     []byte(`{"delta":{"count":42,"items":["a","b","c"]}}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		s.inbound(m)
	}
}
