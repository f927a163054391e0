package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/live-go/live/client"
)

// Limits of the inspector.
const (
	// inspectMaxLine bounds one command line read from stdin.
	inspectMaxLine = 1 << 20
	// inspectSummary bounds the payload shown for an inbound message
	// (without -raw).
	inspectSummary = 300
	// inspectTimeout bounds the connection and each command.
	inspectTimeout = 10 * time.Second
)

type inspectFlags struct {
	url       string
	transport string
	headers   headerFlags
	mount     string
	props     string
	raw       bool
	quiet     bool
}

// headerFlags collects repeated -header K:V flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// inspectConfig is a validated inspect invocation.
type inspectConfig struct {
	url       string
	transport client.Transport
	header    http.Header
	mount     string
	props     json.RawMessage
	raw       bool
	quiet     bool
}

var inspectCommand = &command{
	name:  "inspect",
	usage: "live inspect [-url URL] [-transport websocket|sse|http] [-header K:V]... [-mount NAME [-props JSON]] [-raw] [-quiet]",
	short: "explore a live server: mount, call actions, watch state",
	long: `Inspect connects to a live server (any server speaking the protocol) and
reads commands from standard input, one per line. It prints every message
the server sends and every change of the mounted components' state as they
arrive. With a script on standard input it runs it and exits, echoing each
command; it exits with status 1 when a command of the script failed.

Commands:
  mount NAME [PROPS]           mount a component (PROPS: a JSON object);
                               it becomes the current component
  unmount                      unmount the current component
  call ACTION [PAYLOAD]        call an action of the current component and
                               print its result (PAYLOAD: JSON)
  set PROP VALUE               set a writable property (VALUE: JSON)
  state                        print the current component's state
  room join ROOM [STATE]       join a room with the current component
  room leave ROOM              leave a room
  room emit ROOM EVENT [DATA]  emit an event to the room's other members
  send MESSAGE                 send a raw protocol message (a JSON object)
  help                         list the commands
  quit                         close the connection and exit (also: exit,
                               end of input)

Output lines:
  > command                    a command read from a script
  < TYPE [NAME#ID] PAYLOAD     a message from the server (-raw: the whole
                               JSON message; -quiet: none)
  delta NAME#ID DELTA          a component's state changed
  state NAME#ID STATE          a component's whole state was replaced

Colour is used only when standard output is a terminal (and NO_COLOR is
unset).

Examples:
  live inspect -mount Counter
  live inspect -url ws://127.0.0.1:8080/api/live/ws -transport sse
  printf 'mount Counter\ncall increment\nstate\n' | live inspect -quiet
`,
	flags: func(fs *flag.FlagSet) any {
		f := &inspectFlags{}
		fs.StringVar(&f.url, "url", "ws://127.0.0.1:8080/api/live/ws", "WebSocket `URL` of the server (the other transports derive theirs from it)")
		fs.StringVar(&f.transport, "transport", "websocket", "`transport`: websocket, sse or http (long-polling)")
		fs.Var(&f.headers, "header", "extra request header `K:V` (Cookie, Authorization, Origin...); repeatable")
		fs.StringVar(&f.mount, "mount", "", "component `NAME` to mount on connect")
		fs.StringVar(&f.props, "props", "", "mount props for -mount, a JSON object")
		fs.BoolVar(&f.raw, "raw", false, "print each server message as its whole JSON")
		fs.BoolVar(&f.quiet, "quiet", false, "print no server messages, only state changes and results")
		return f
	},
	run: func(ctx context.Context, e *env, flags any, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments: %q", args)
		}
		cfg, err := flags.(*inspectFlags).config()
		if err != nil {
			return err
		}
		return runInspect(ctx, cfg, os.Stdin, e.stdout, e.stderr)
	},
}

// config validates the flags.
func (f *inspectFlags) config() (inspectConfig, error) {
	cfg := inspectConfig{url: f.url, mount: f.mount, raw: f.raw, quiet: f.quiet, header: http.Header{}}
	switch strings.ToLower(f.transport) {
	case "websocket", "ws":
		cfg.transport = client.TransportWebSocket
	case "sse":
		cfg.transport = client.TransportSSE
	case "http", "long-poll", "longpoll":
		cfg.transport = client.TransportHTTP
	default:
		return cfg, usageErrorf("invalid -transport %q (want websocket, sse or http)", f.transport)
	}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
			return cfg, usageErrorf("invalid -header %q (want Name: value)", h)
		}
		cfg.header.Add(k, strings.TrimSpace(v))
	}
	if f.props != "" {
		if f.mount == "" {
			return cfg, usageErrorf("-props needs -mount")
		}
		if !isJSONObject([]byte(f.props)) {
			return cfg, usageErrorf("-props must be a JSON object, got %q", f.props)
		}
		cfg.props = json.RawMessage(f.props)
	}
	return cfg, nil
}

// runInspect connects and runs the command loop until quit, the end of in,
// ctx's end or the connection's end.
func runInspect(ctx context.Context, cfg inspectConfig, in io.Reader, stdout, stderr io.Writer) error {
	p := &printer{w: stdout, colour: isTerminal(stdout) && os.Getenv("NO_COLOR") == "", raw: cfg.raw, quiet: cfg.quiet}
	interactive := isTerminal(in) && isTerminal(stdout)
	if isTerminal(stdout) {
		fmt.Fprintf(stderr, "connecting to %s over %s...\n", cfg.url, cfg.transport)
	}
	s := &inspector{p: p}
	// Connection state changes are reported between the first connection
	// and our own Close.
	var reporting, connectedOnce atomic.Bool
	dialCtx, cancel := context.WithTimeout(ctx, inspectTimeout)
	c, err := client.Dial(dialCtx, cfg.url, &client.Options{
		Header:         cfg.header,
		Transport:      cfg.transport,
		RequestTimeout: inspectTimeout,
		OnStateChange: func(st client.ConnState) {
			if st == client.StateConnecting || st == client.StateConnected && !connectedOnce.Swap(true) {
				return // the first connection is reported below
			}
			if reporting.Load() {
				p.notice("connection %s", st)
			}
		},
	})
	cancel()
	if err != nil {
		return fmt.Errorf("connect to %s: %w", cfg.url, err)
	}
	s.c = c
	reporting.Store(true)
	defer func() {
		reporting.Store(false)
		_ = c.Close()
	}()
	c.OnMessage(s.inbound)
	c.OnBinary(func(b []byte) { p.binary(b) })
	p.notice("connected to %s over %s (connection %s)", cfg.url, cfg.transport, clean(c.ConnectionID()))

	failed := 0
	if cfg.mount != "" {
		if !s.exec(ctx, "mount", []string{cfg.mount}, string(cfg.props)) {
			failed++
		}
	}

	lines := make(chan string)
	stop := make(chan struct{})
	defer close(stop)
	readErr := make(chan error, 1)
	go readLines(in, lines, stop, readErr)

	for {
		if interactive {
			p.prompt()
		}
		var line string
		select {
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return fmt.Errorf("connection ended: %w", c.Err())
		case l, ok := <-lines:
			if !ok {
				if err := <-readErr; err != nil {
					return fmt.Errorf("read commands: %w", err)
				}
				return scriptResult(interactive, failed)
			}
			line = l
		}
		cmd, args, rest, err := parseLine(line)
		if err != nil {
			p.failure("%v", err)
			failed++
			continue
		}
		if cmd == "" {
			continue
		}
		if !interactive {
			p.echo(line)
		}
		if cmd == "quit" || cmd == "exit" {
			return scriptResult(interactive, failed)
		}
		if !s.exec(ctx, cmd, args, rest) {
			failed++
		}
	}
}

func scriptResult(interactive bool, failed int) error {
	if !interactive && failed > 0 {
		return fmt.Errorf("%d command(s) failed", failed)
	}
	return nil
}

// readLines sends the lines of in to lines until its end or stop.
func readLines(in io.Reader, lines chan<- string, stop <-chan struct{}, errc chan<- error) {
	defer close(lines)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), inspectMaxLine)
	for sc.Scan() {
		select {
		case lines <- sc.Text():
		case <-stop:
			errc <- nil
			return
		}
	}
	errc <- sc.Err()
}

// commandArity says how many words each command takes before its JSON
// rest (which may contain spaces): min and max words, and whether a rest
// is allowed.
var commandArity = map[string]struct {
	min, max int
	rest     bool
}{
	"help":    {0, 0, false},
	"quit":    {0, 0, false},
	"exit":    {0, 0, false},
	"mount":   {1, 1, true},
	"unmount": {0, 0, false},
	"call":    {1, 1, true},
	"set":     {1, 1, true},
	"state":   {0, 0, false},
	"send":    {0, 0, true},
	"room":    {2, 3, true},
}

// parseLine splits a command line into the command, its words and the
// rest of the line (a JSON value). Blank lines and # comments yield no
// command.
func parseLine(line string) (cmd string, args []string, rest string, err error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return "", nil, "", nil
	}
	cmd, line = nextWord(line)
	cmd = strings.ToLower(cmd)
	ar, ok := commandArity[cmd]
	if !ok {
		return "", nil, "", fmt.Errorf("unknown command %q (try help)", clean(truncate(cmd, 40)))
	}
	n := ar.max
	if cmd == "room" {
		sub, _ := nextWord(line)
		switch strings.ToLower(sub) {
		case "join", "leave":
			n = 2
		case "emit":
			n = 3
		default:
			return "", nil, "", fmt.Errorf("usage: room join|leave ROOM, room emit ROOM EVENT [DATA]")
		}
	}
	for len(args) < n && line != "" {
		var w string
		w, line = nextWord(line)
		args = append(args, w)
	}
	if len(args) < ar.min || (cmd == "room" && len(args) < n) {
		return "", nil, "", fmt.Errorf("%s: missing arguments (try help)", cmd)
	}
	if line != "" && !ar.rest || cmd == "room" && strings.EqualFold(args[0], "leave") && line != "" {
		return "", nil, "", fmt.Errorf("%s: unexpected %q", cmd, clean(truncate(line, 40)))
	}
	if cmd == "room" {
		args[0] = strings.ToLower(args[0])
	}
	return cmd, args, line, nil
}

// nextWord returns the first word of s and the rest, trimmed.
func nextWord(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// inspector holds the connection and the mounted components.
type inspector struct {
	c *client.Client
	p *printer

	mu    sync.Mutex
	cur   *client.Component
	comps []*client.Component // mounted, oldest first
}

// exec runs one command and reports whether it succeeded.
func (s *inspector) exec(ctx context.Context, cmd string, args []string, rest string) bool {
	ctx, cancel := context.WithTimeout(ctx, inspectTimeout)
	defer cancel()
	if err := s.run(ctx, cmd, args, rest); err != nil {
		s.p.failure("%s: %v", cmd, err)
		return false
	}
	return true
}

var errNoComponent = errors.New("no component mounted (use mount NAME)")

func (s *inspector) run(ctx context.Context, cmd string, args []string, rest string) error {
	if cmd == "help" {
		s.p.plain(inspectHelp)
		return nil
	}
	if cmd == "mount" {
		return s.mount(ctx, args[0], rest)
	}
	if cmd == "send" {
		if !isJSONObject([]byte(rest)) {
			return errors.New("the message must be a JSON object")
		}
		return s.c.Send(ctx, json.RawMessage(rest))
	}
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil {
		return errNoComponent
	}
	switch cmd {
	case "unmount":
		err := cur.Unmount(ctx)
		s.forget(cur)
		if err != nil {
			return err
		}
		s.p.result("unmounted %s", label(cur))
	case "call":
		payload, err := optionalJSON(rest)
		if err != nil {
			return err
		}
		res, err := cur.Call(ctx, args[0], payload)
		if err != nil {
			return err
		}
		if len(res) == 0 {
			res = json.RawMessage("null")
		}
		s.p.result("result %s", s.p.payload(res))
	case "set":
		if !json.Valid([]byte(rest)) {
			return fmt.Errorf("VALUE must be JSON, got %q", clean(truncate(rest, 40)))
		}
		if err := cur.Set(ctx, args[0], json.RawMessage(rest)); err != nil {
			return err
		}
		s.p.result("set %s", clean(args[0]))
	case "state":
		b, err := json.Marshal(cur.State())
		if err != nil {
			return err
		}
		s.p.result("state %s %s", label(cur), s.p.payload(b))
	case "room":
		return s.room(ctx, cur, args, rest)
	}
	return nil
}

func (s *inspector) mount(ctx context.Context, name, props string) error {
	var p any
	if props != "" {
		if !isJSONObject([]byte(props)) {
			return errors.New("PROPS must be a JSON object")
		}
		p = json.RawMessage(props)
	}
	comp, err := s.c.Mount(ctx, name, p)
	if err != nil {
		return err
	}
	b, err := json.Marshal(comp.State())
	if err != nil {
		return err
	}
	s.p.result("mounted %s %s", label(comp), s.p.payload(b))
	comp.OnChange(func(state, delta map[string]any) {
		if delta == nil {
			b, _ := json.Marshal(state)
			s.p.change("state %s %s", label(comp), s.p.payload(b))
			return
		}
		b, _ := json.Marshal(delta)
		s.p.change("delta %s %s", label(comp), s.p.payload(b))
	})
	s.mu.Lock()
	s.comps = append(s.comps, comp)
	s.cur = comp
	s.mu.Unlock()
	return nil
}

// forget drops comp; the newest remaining component becomes current.
func (s *inspector) forget(comp *client.Component) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.comps {
		if c == comp {
			s.comps = append(s.comps[:i], s.comps[i+1:]...)
			break
		}
	}
	s.cur = nil
	if n := len(s.comps); n > 0 {
		s.cur = s.comps[n-1]
	}
}

func (s *inspector) room(ctx context.Context, cur *client.Component, args []string, rest string) error {
	verb, roomID := args[0], args[1]
	switch verb {
	case "join":
		payload := map[string]any{"roomId": roomID}
		if rest != "" {
			if !json.Valid([]byte(rest)) {
				return errors.New("STATE must be JSON")
			}
			payload["initialState"] = json.RawMessage(rest)
		}
		reply, err := s.c.Request(ctx, map[string]any{"type": "ROOM_JOIN", "componentId": cur.ID(), "roomId": roomID, "payload": payload})
		if err != nil {
			return err
		}
		s.p.result("joined %s %s", clean(roomID), s.p.payload(reply.Payload))
	case "leave":
		if _, err := s.c.Request(ctx, map[string]any{"type": "ROOM_LEAVE", "componentId": cur.ID(), "roomId": roomID}); err != nil {
			return err
		}
		s.p.result("left %s", clean(roomID))
	case "emit":
		data, err := optionalJSON(rest)
		if err != nil {
			return err
		}
		msg := map[string]any{"type": "ROOM_EMIT", "componentId": cur.ID(), "roomId": roomID,
			"payload": map[string]any{"event": args[2], "data": data}}
		if err := s.c.Send(ctx, msg); err != nil {
			return err
		}
		s.p.result("emitted %s to %s", clean(args[2]), clean(roomID))
	}
	return nil
}

// inbound prints a server message (the reader goroutine calls it).
func (s *inspector) inbound(m client.Message) {
	if s.p.quiet {
		return
	}
	if s.p.raw {
		s.p.in("< %s", s.p.payload(m.Raw))
		return
	}
	var b strings.Builder
	b.WriteString("< ")
	b.WriteString(clean(truncate(m.Type, 64)))
	if m.ComponentID != "" {
		b.WriteByte(' ')
		b.WriteString(s.name(m.ComponentID))
	}
	if m.Error != "" {
		b.WriteString(" error=")
		b.WriteString(s.p.payload(mustJSON(m.Error)))
	}
	if len(m.Result) > 0 {
		b.WriteString(" result=")
		b.WriteString(s.p.payload(m.Result))
	}
	if len(m.Payload) > 0 {
		b.WriteByte(' ')
		b.WriteString(s.p.payload(m.Payload))
	}
	s.p.in("%s", b.String())
}

// name labels a component id with its name when it is one of ours.
func (s *inspector) name(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comps {
		if c.ID() == id {
			return label(c)
		}
	}
	return clean(truncate(id, 64))
}

func label(c *client.Component) string {
	return clean(truncate(c.Name(), 64)) + "#" + clean(truncate(c.ID(), 64))
}

// printer writes the inspector's lines; it is shared by the command loop
// and the client's goroutines.
type printer struct {
	mu     sync.Mutex
	w      io.Writer
	colour bool
	raw    bool
	quiet  bool
}

// ANSI colours.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiBold   = "\x1b[1m"
)

// line prints one line. Its text is escaped (control characters, invalid
// UTF-8): error texts and names come from the server.
func (p *printer) line(colour, format string, args ...any) {
	text := clean(fmt.Sprintf(format, args...))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.colour && colour != "" {
		text = colour + text + ansiReset
	}
	_, _ = io.WriteString(p.w, text+"\n")
}

func (p *printer) plain(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(p.w, text)
}

func (p *printer) in(format string, args ...any)     { p.line(ansiCyan, format, args...) }
func (p *printer) change(format string, args ...any) { p.line(ansiYellow, format, args...) }
func (p *printer) result(format string, args ...any) { p.line(ansiGreen, format, args...) }
func (p *printer) notice(format string, args ...any) { p.line(ansiDim, format, args...) }
func (p *printer) failure(format string, args ...any) {
	p.line(ansiRed, "error: "+format, args...)
}

func (p *printer) echo(line string) {
	if !p.quiet {
		p.line(ansiBold, "> %s", clean(truncate(strings.TrimSpace(line), 200)))
	}
}

func (p *printer) prompt() {
	p.plain("live> ")
}

// binary prints a binary frame's type and size.
func (p *printer) binary(b []byte) {
	if p.quiet || len(b) == 0 {
		return
	}
	p.in("< binary 0x%02x (%d bytes)", b[0], len(b))
}

// payload renders JSON from the server for one line: compacted, truncated
// unless raw, and never carrying control characters.
func (p *printer) payload(raw []byte) string {
	return summarize(raw, p.raw)
}

// summarize renders untrusted JSON bytes on one line: compacted when valid,
// cut to inspectSummary bytes unless full, with control and invalid bytes
// escaped so that nothing the server sends can drive the terminal.
func summarize(raw []byte, full bool) string {
	src := raw
	if json.Valid(raw) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err == nil {
			src = buf.Bytes()
		}
	}
	limit := len(src)
	if !full && limit > inspectSummary {
		limit = inspectSummary
	}
	var b strings.Builder
	b.Grow(limit + 16)
	i := 0
	for i < limit {
		r, size := utf8.DecodeRune(src[i:])
		if i+size > limit {
			break
		}
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, src[i])
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	if i < len(src) {
		fmt.Fprintf(&b, "… (%d bytes)", len(src))
	}
	return b.String()
}

// clean escapes control characters and invalid UTF-8 in s.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return summarize([]byte(s), true)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func optionalJSON(s string) (json.RawMessage, error) {
	if s == "" {
		return nil, nil
	}
	if !json.Valid([]byte(s)) {
		return nil, fmt.Errorf("not JSON: %q", clean(truncate(s, 40)))
	}
	return json.RawMessage(s), nil
}

func isJSONObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// inspectHelp is printed by the help command.
var inspectHelp = func() string {
	cmds := []string{
		"mount NAME [PROPS]          mount a component; it becomes the current one",
		"unmount                     unmount the current component",
		"call ACTION [PAYLOAD]       call an action and print its result",
		"set PROP VALUE              set a writable property (VALUE: JSON)",
		"state                       print the current component's state",
		"room join ROOM [STATE]      join a room with the current component",
		"room leave ROOM             leave a room",
		"room emit ROOM EVENT [DATA] emit an event to the room's other members",
		"send MESSAGE                send a raw protocol message (JSON object)",
		"help                        list the commands",
		"quit                        close the connection and exit",
	}
	return "Commands:\n  " + strings.Join(cmds, "\n  ") + "\n"
}()
