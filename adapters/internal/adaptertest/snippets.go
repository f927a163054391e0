package adaptertest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SnippetTag is the Markdown comment that precedes every Go code block of
// docs/adapters.md and names, relative to the repository root, the file in
// which the block's code is compiled:
//
//	<!-- compiled: adapters/gin/example_test.go -->
const SnippetTag = "<!-- compiled: "

// Snippet is one tagged Go code block of a Markdown file.
type Snippet struct {
	// File is the tagged path, relative to the repository root.
	File string
	// Line is the line of the opening fence, from 1.
	Line int
	// Code is the block's text without the fences.
	Code string
}

// ParseSnippets returns the Go code blocks of the Markdown text md. A block
// not preceded by a SnippetTag line has an empty File.
func ParseSnippets(md string) []Snippet {
	var (
		out    []Snippet
		tag    string
		cur    *Snippet
		buf    strings.Builder
		lineNo int
	)
	sc := bufio.NewScanner(strings.NewReader(md))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			cur.Code = buf.String()
			out = append(out, *cur)
			cur = nil
			buf.Reset()
		case cur != nil:
			buf.WriteString(line)
			buf.WriteByte('\n')
		case trimmed == "```go":
			cur = &Snippet{File: tag, Line: lineNo}
			tag = ""
		case strings.HasPrefix(trimmed, SnippetTag) && strings.HasSuffix(trimmed, "-->"):
			tag = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(trimmed, SnippetTag), "-->"))
		case trimmed != "":
			tag = "" // a tag applies to the next block only when nothing is between
		}
	}
	return out
}

// CheckSnippets checks that every Go code block of the Markdown file doc
// tagged with a file under prefix (a directory relative to the repository
// root, e.g. "adapters/gin") appears in that file: its non-blank lines,
// with leading white space removed, must be consecutive non-blank lines of
// the file. root is the repository root relative to the test's directory.
// It fails the test when no block is tagged for prefix.
func CheckSnippets(t *testing.T, root, doc, prefix string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatalf("read %s: %v", doc, err)
	}
	n := 0
	for _, s := range ParseSnippets(string(md)) {
		if !strings.HasPrefix(s.File, prefix+"/") {
			continue
		}
		n++
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(s.File)))
		if err != nil {
			t.Errorf("%s:%d: block tagged for %s: %v", doc, s.Line, s.File, err)
			continue
		}
		if !containsLines(string(src), s.Code) {
			t.Errorf("%s:%d: block is not in %s (copy it from there):\n%s", doc, s.Line, s.File, s.Code)
		}
	}
	if n == 0 {
		t.Errorf("%s has no Go block tagged for %s/", doc, prefix)
	}
}

// containsLines reports whether the non-blank lines of part, trimmed, are
// consecutive non-blank trimmed lines of whole.
func containsLines(whole, part string) bool {
	w, p := codeLines(whole), codeLines(part)
	if len(p) == 0 {
		return false
	}
outer:
	for i := 0; i+len(p) <= len(w); i++ {
		for j := range p {
			if w[i+j] != p[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

func codeLines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if l := strings.TrimSpace(line); l != "" {
			out = append(out, l)
		}
	}
	return out
}
