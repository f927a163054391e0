package adaptertest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSnippets(t *testing.T) {
	md := "# T\n\n" +
		"<!-- compiled: a/x_test.go -->\n```go\nfoo()\n\tbar()\n```\n\n" +
		"```go\nuntagged()\n```\n" +
		"<!-- compiled: b/y_test.go -->\ntext between\n```go\nlost()\n```\n" +
		"```sh\nnot go\n```\n"
	want := []Snippet{
		{File: "a/x_test.go", Line: 4, Code: "foo()\n\tbar()\n"},
		{File: "", Line: 9, Code: "untagged()\n"},
		{File: "", Line: 14, Code: "lost()\n"},
	}
	if diff := cmp.Diff(want, ParseSnippets(md)); diff != "" {
		t.Fatalf("ParseSnippets (-want +got):\n%s", diff)
	}
}

func TestContainsLines(t *testing.T) {
	file := "func Example() {\n\tsrv := New()\n\n\tsrv.Run()\n}\n"
	tests := []struct {
		name string
		part string
		want bool
	}{
		{"dedented", "srv := New()\nsrv.Run()\n", true},
		{"blank lines ignored", "\nsrv := New()\n\n\nsrv.Run()", true},
		{"one line", "srv.Run()", true},
		{"changed line", "srv := New2()\nsrv.Run()", false},
		{"out of order", "srv.Run()\nsrv := New()", false},
		{"empty", "\n\n", false},
		{"longer than the file", file + "extra()", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := containsLines(file, tt.part); got != tt.want {
				t.Fatalf("containsLines = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAdaptersDocTagged checks that every Go block of docs/adapters.md
// names an existing file in which a test compiles it (each adapter
// module's TestDocs checks the contents).
func TestAdaptersDocTagged(t *testing.T) {
	const root = "../../.."
	md, err := os.ReadFile(filepath.Join(root, "docs", "adapters.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets := ParseSnippets(string(md))
	if len(snippets) == 0 {
		t.Fatal("docs/adapters.md has no Go blocks")
	}
	for _, s := range snippets {
		if s.File == "" {
			t.Errorf("docs/adapters.md:%d: Go block without a %q tag", s.Line, SnippetTag)
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(s.File)))
		if err != nil {
			t.Errorf("docs/adapters.md:%d: %v", s.Line, err)
			continue
		}
		if !containsLines(string(src), s.Code) {
			t.Errorf("docs/adapters.md:%d: block is not in %s", s.Line, s.File)
		}
	}
}
