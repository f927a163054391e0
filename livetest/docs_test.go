package livetest_test

import (
	"os"
	"strings"
	"testing"
)

// TestDocsSnippets checks that every Go code block of docs/testing.md
// appears word for word (up to a common indentation) in
// docs_example_test.go, whose tests run: the documentation compiles and
// works.
func TestDocsSnippets(t *testing.T) {
	doc, err := os.ReadFile("../docs/testing.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("docs_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(doc))
	if len(blocks) < 5 {
		t.Fatalf("docs/testing.md has %d Go blocks; the extraction is broken", len(blocks))
	}
	for i, b := range blocks {
		if !containsBlock(string(src), b) {
			t.Errorf("Go block %d of docs/testing.md is not in docs_example_test.go:\n%s", i+1, b)
		}
	}
}

// goBlocks returns the contents of the ```go fenced blocks of a Markdown
// text.
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
		out = append(out, strings.Join(b, "\n"))
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

func TestContainsBlock(t *testing.T) {
	src := "func f() {\n\tif x {\n\t\ty()\n\n\t\tz()\n\t}\n}"
	tests := []struct {
		block string
		want  bool
	}{
		{"if x {\n\ty()\n\n\tz()\n}", true},
		{"y()\n\nz()", true},
		{"func f() {", true},
		{"if x {\n\tz()", false},
		{"y()\nz()", false},
		{"f() {", false},
	}
	for _, tt := range tests {
		if got := containsBlock(src, tt.block); got != tt.want {
			t.Errorf("containsBlock(%q) = %v, want %v", tt.block, got, tt.want)
		}
	}
}
