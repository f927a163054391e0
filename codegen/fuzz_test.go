package codegen

import (
	"bytes"
	"go/parser"
	"go/token"
	"testing"
)

// FuzzSource runs the generator on arbitrary package sources: it must never
// panic, and whatever it generates must start with the header, parse as Go,
// and be the same on a second run.
func FuzzSource(f *testing.F) {
	f.Add("package p\nimport \"github.com/live-go/live\"\n//live:name X\n//live:actions a,b\ntype T struct{ live.Base }\n", "b.go")
	f.Add("package p\nimport lv \"github.com/live-go/live\"\ntype R struct{ lv.RoomBase }\nfunc (r *R) Go(c *lv.Ctx, a, b int) (x, y int, err error)\n", "r.go")
	f.Add("package p\nimport . \"github.com/live-go/live\"\n//live:component\ntype t struct{ Base }\nfunc (x t) LiveActions() []string\n", "x_linux.go")
	f.Add("//go:build ignore\n\npackage main\n", "gen.go")
	f.Add("package p\n//live:codec json\n//live:room\ntype R struct{}\n//live:new R\nfunc R() {}\n", "q.go")
	f.Fuzz(func(t *testing.T, src, name string) {
		if name == "" || len(name) > 64 {
			return
		}
		files := []srcFile{{name: name, src: []byte(src)}}
		o := Options{RegisterFunc: DefaultRegisterFunc}
		out, err := source(files, o)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(out, []byte(Header+"\n")) {
			t.Fatalf("no header:\n%s", out)
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "gen.go", out, 0); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		again, err := source(files, o)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("second run differs: %v", err)
		}
	})
}
