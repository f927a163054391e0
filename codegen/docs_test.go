package codegen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsSnippets checks that every Go code block of docs/codegen.md
// appears word for word (up to a common indentation) in the fixture, its
// golden file, the examples or the fixture tests, all compiled and run.
func TestDocsSnippets(t *testing.T) {
	doc, err := os.ReadFile("../docs/codegen.md")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob(filepath.Join(fixtureDir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	sources = append(sources, "example_test.go", "fixture_run_test.go")
	var texts []string
	for _, p := range sources {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	blocks := goBlocks(string(doc))
	if len(blocks) < 5 {
		t.Fatalf("docs/codegen.md has %d Go blocks; the extraction is broken", len(blocks))
	}
	for i, b := range blocks {
		found := false
		for _, s := range texts {
			if containsBlock(s, b) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("Go block %d of docs/codegen.md is not in the fixture or the examples:\n%s", i+1, b)
		}
	}
}

// goBlocks returns the contents of the ```go fenced blocks of a Markdown
// text, without the indentation common to all their lines.
func goBlocks(md string) []string {
	var out []string
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		var b []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			b = append(b, lines[i])
		}
		out = append(out, strings.Join(dedent(b), "\n"))
	}
	return out
}

// dedent removes the leading tabs common to every non-empty line.
func dedent(lines []string) []string {
	common := -1
	for _, l := range lines {
		if l == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if common < 0 || n < common {
			common = n
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if l != "" {
			out[i] = l[max(common, 0):]
		}
	}
	return out
}

// containsBlock reports whether the lines of block appear consecutively in
// src, each behind the same indentation (empty lines match empty lines).
func containsBlock(src, block string) bool {
	s, b := strings.Split(src, "\n"), strings.Split(block, "\n")
	for start := 0; start+len(b) <= len(s); start++ {
		indent, ok := strings.CutSuffix(s[start], b[0])
		if !ok || strings.Trim(indent, "\t") != "" {
			continue
		}
		match := true
		for k := 1; k < len(b) && match; k++ {
			if b[k] == "" {
				match = s[start+k] == ""
			} else {
				match = s[start+k] == indent+b[k]
			}
		}
		if match {
			return true
		}
	}
	return false
}
