package jsclient

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// maxGzipped is the size budget of the embedded client (live.js and
// protocol_gen.js together), gzipped.
const maxGzipped = 25 << 10

func gzipLen(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

// crudeMinify drops whole-line comments, indentation and blank lines. It
// never touches code inside a line, so it cannot break string literals; the
// result is a rough stand-in for a real minifier (which would do better).
func crudeMinify(src string) string {
	var out strings.Builder
	inBlock := false
	for _, line := range strings.Split(src, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case inBlock:
			inBlock = !strings.Contains(l, "*/")
			continue
		case strings.HasPrefix(l, "/*"):
			inBlock = !strings.Contains(l, "*/")
			continue
		case l == "" || strings.HasPrefix(l, "//"):
			continue
		}
		out.WriteString(l)
		out.WriteByte('\n')
	}
	return out.String()
}

func TestClientSize(t *testing.T) {
	src := append(readFile(t, "live.js"), readFile(t, "protocol_gen.js")...)
	raw := gzipLen(t, src)
	min := crudeMinify(string(src))
	minGz := gzipLen(t, []byte(min))
	t.Logf("client size: raw %d B, gzipped %d B; crudely minified %d B, gzipped %d B (budget %d B gzipped)",
		len(src), raw, len(min), minGz, maxGzipped)
	if minGz > raw {
		t.Errorf("minified gzip %d larger than raw gzip %d", minGz, raw)
	}
	if raw > maxGzipped {
		t.Errorf("embedded client is %d B gzipped, over the %d B budget", raw, maxGzipped)
	}
}

func TestCrudeMinify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  a();\n\n// c\n  b(); // keep\n", "a();\nb(); // keep\n"},
		{"/**\n * doc\n */\nx;\n/* one */\ny('//');\n", "x;\ny('//');\n"},
	}
	for _, tc := range tests {
		if got := crudeMinify(tc.in); got != tc.want {
			t.Errorf("crudeMinify(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
