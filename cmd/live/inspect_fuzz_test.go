package main

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseLine parses arbitrary command lines.
func FuzzParseLine(f *testing.F) {
	f.Add("mount Counter {\"a\": 1}")
	f.Add("room emit lobby ev [1, 2]")
	f.Add("room leave")
	f.Add("  # comment")
	f.Add("set \xff\x00 null")
	f.Fuzz(func(t *testing.T, line string) {
		cmd, args, rest, err := parseLine(line)
		if err != nil {
			if cmd != "" || args != nil || rest != "" {
				t.Fatalf("error %v with results %q %q %q", err, cmd, args, rest)
			}
			return
		}
		if cmd == "" {
			return
		}
		ar, ok := commandArity[cmd]
		if !ok {
			t.Fatalf("unknown command %q accepted", cmd)
		}
		if len(args) < ar.min || len(args) > ar.max {
			t.Fatalf("%s: %d args %q", cmd, len(args), args)
		}
		if rest != "" && !ar.rest {
			t.Fatalf("%s: rest %q accepted", cmd, rest)
		}
		for _, a := range args {
			if a == "" || strings.IndexFunc(a, unicode.IsSpace) >= 0 {
				t.Fatalf("bad word %q", a)
			}
		}
	})
}

// FuzzSummarize renders arbitrary server bytes: one line, no control
// characters, valid UTF-8, bounded.
func FuzzSummarize(f *testing.F) {
	f.Add([]byte(`{"type":"STATE_DELTA","payload":{"delta":{"count":1}}}`), false)
	f.Add([]byte("\x1b]0;title\x07"), false)
	f.Add([]byte("\xff\xfe\xfd"), true)
	f.Add([]byte(`{"s":"`+strings.Repeat("é", 400)+`"}`), false)
	f.Fuzz(func(t *testing.T, raw []byte, full bool) {
		got := summarize(raw, full)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
		if !full && len(got) > inspectSummary*4+64 {
			t.Fatalf("summary of %d bytes is %d bytes long", len(raw), len(got))
		}
	})
}
