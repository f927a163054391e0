package codegen

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const liveImport = "import \"github.com/live-go/live\"\n"

// gen runs the generator on in-memory files ("name.go\nsource" pairs).
func gen(t *testing.T, o Options, files ...string) (string, error) {
	t.Helper()
	var src []srcFile
	for _, f := range files {
		name, body, _ := strings.Cut(f, "\n")
		src = append(src, srcFile{name: name, src: []byte(body)})
	}
	if o.RegisterFunc == "" {
		o.RegisterFunc = DefaultRegisterFunc
	}
	out, err := source(src, o)
	return string(out), err
}

func TestSource(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		files []string
		want  []string // lines the output must contain, in order
	}{
		{
			name:  "dot import and value receiver",
			files: []string{"a.go\npackage p\nimport . \"github.com/live-go/live\"\ntype X struct{ Base }\nfunc (x X) Go(ctx *Ctx) error { return nil }\n"},
			want:  []string{`live.Component[X]{`, `Name:    "X",`, `Actions: []string{"go"},`},
		},
		{
			name: "action signatures",
			files: []string{"a.go\npackage p\n" + liveImport + `type X struct{ live.Base }
type P struct{}
func (x *X) A(ctx *live.Ctx) error { return nil }
func (x *X) B(ctx *live.Ctx, p P) error { return nil }
func (x *X) C(ctx *live.Ctx) (int, error) { return 0, nil }
func (x *X) D(ctx *live.Ctx, p *P) (r []P, err error) { return nil, nil }
func (x *X) E(ctx *live.Ctx, a, b int) error { return nil }
func (x *X) F(ctx *live.Ctx, a ...int) error { return nil }
func (x *X) G(ctx *live.Ctx) int { return 0 }
func (x *X) H(ctx live.Ctx) error { return nil }
func (x *X) I() error { return nil }
func (x *X) J(ctx *live.Ctx) (int, int, error) { return 0, 0, nil }
func (x *X) ÉtéAction(ctx *live.Ctx) error { return nil }
func (x *X) BeforeAction(ctx *live.Ctx, a string) error { return nil }
func (x *X) OnMount(ctx *live.Ctx) error { return nil }
func (x *X) k(ctx *live.Ctx) error { return nil }
`},
			want: []string{`Actions: []string{"a", "b", "c", "d", "étéAction"},`},
		},
		{
			name:  "methods in another file with another import name",
			files: []string{"a.go\npackage p\n" + liveImport + "type X struct{ live.Base }\n", "b.go\npackage p\nimport l \"github.com/live-go/live\"\nfunc (x *X) Go(c *l.Ctx) error { return nil }\nfunc (x *X) No(c *live.Ctx) error { return nil }\n"},
			want:  []string{`Actions: []string{"go"},`},
		},
		{
			name:  "import name collision",
			files: []string{"a.go\npackage p\n" + liveImport + "type X struct{ live.Base }\n", "b.go\npackage p\nvar live2 = 0\nfunc init() { _ = live2 }\n", "c.go\npackage p\nconst s, err = 1, 2\n"},
			want:  []string{`import live "github.com/live-go/live"`},
		},
		{
			name:  "package-level name live",
			files: []string{"a.go\npackage p\nimport lv \"github.com/live-go/live\"\ntype X struct{ lv.Base }\nvar live = 1\n"},
			want:  []string{`import live2 "github.com/live-go/live"`, `func RegisterLive(s *live2.Server) error {`, `live2.Register(s, live2.Component[X]{`},
		},
		{
			name:  "no components",
			files: []string{"a.go\npackage p\ntype X struct{}\n"},
			want:  []string{"package p", "func RegisterLive(s *live.Server) error {", "\treturn nil\n}"},
		},
		{
			name:  "constrained file without components",
			files: []string{"a.go\npackage p\n" + liveImport + "type X struct{ live.Base }\n", "b_linux.go\npackage p\ntype Y struct{}\n", "c.go\n//go:build !windows\n\npackage p\ntype Z struct{}\n"},
			want:  []string{`live.Component[X]{`},
		},
		{
			name:  "ignored file of another package",
			files: []string{"a.go\npackage p\n" + liveImport + "type X struct{ live.Base }\n", "gen.go\n//go:build ignore\n\npackage main\n" + liveImport + "type Y struct{ live.Base }\nfunc main() {}\n"},
			want:  []string{`live.Component[X]{`},
		},
		{
			name:  "other package",
			opts:  Options{Package: "registry", ImportPath: "example.com/app/comps", RegisterFunc: "Components"},
			files: []string{"a.go\npackage comps\n" + liveImport + "type X struct{ live.Base }\ntype R struct{ live.RoomBase }\n//live:new NewR\ntype S struct{ live.RoomBase }\nfunc NewR() *S { return nil }\nvar live = 1\n"},
			want: []string{"package registry", "\t\"example.com/app/comps\"\n\n\tlive \"github.com/live-go/live\"\n",
				"func Components(s *live.Server) error {", "live.Component[comps.X]{", "live.Room[comps.R]{", "New:  comps.NewR,"},
		},
		{
			name:  "other package named live",
			opts:  Options{Package: "registry", ImportPath: "example.com/live"},
			files: []string{"a.go\npackage live\nimport base \"github.com/live-go/live\"\ntype X struct{ base.Base }\n"},
			want:  []string{"\tlive2 \"example.com/live\"\n\n\tlive \"github.com/live-go/live\"\n", "live.Component[live2.X]{"},
		},
		{
			name:  "writable and name",
			files: []string{"a.go\npackage p\n" + liveImport + "// X is.\n//\n//live:writable b, a\n//live:name Fancy-Name\ntype X struct{ live.Base }\n"},
			want:  []string{`Name:     "Fancy-Name",`, `Writable: []string{"b", "a"},`},
		},
		{
			name:  "grouped declaration",
			files: []string{"a.go\npackage p\n" + liveImport + "//live:room\ntype (\n\t//live:singleton\n\tX struct{ live.Base }\n\tY struct{ live.RoomBase }\n)\n"},
			want:  []string{`live.Component[X]{`, `Singleton: true,`, `live.Room[Y]{`},
		},
		{
			name:  "empty actions marker",
			files: []string{"a.go\npackage p\n" + liveImport + "//live:actions\ntype X struct{ live.Base }\nfunc (x *X) Go(c *live.Ctx) error { return nil }\n"},
			want:  []string{`Actions: []string{},`},
		},
		{
			name:  "blank import only",
			files: []string{"a.go\npackage p\nimport _ \"github.com/live-go/live\"\ntype X struct{ Base }\ntype Base struct{}\n"},
			want:  []string{"\treturn nil\n}"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := gen(t, tt.opts, tt.files...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, Header+"\n") {
				t.Fatalf("no header:\n%s", out)
			}
			if _, err := parser.ParseFile(token.NewFileSet(), "gen.go", out, 0); err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, out)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestSourceErrors(t *testing.T) {
	comp := func(doc, decl string) string {
		return "a.go\npackage p\n" + liveImport + doc + "\n" + decl + "\n"
	}
	const x = "type X struct{ live.Base }"
	tests := []struct {
		name    string
		opts    Options
		files   []string
		wantErr string
	}{
		{"syntax error", Options{}, []string{"a.go\npackage p\ntype X struct{"}, "parse:"},
		{"no files", Options{}, nil, "no Go files"},
		{"two packages", Options{}, []string{"a.go\npackage p\n", "b.go\npackage q\n"}, "b.go: package q, but other files are package p"},
		{"pointer embed", Options{}, []string{comp("", "type X struct{ *live.Base }")}, "embed live.Base by value"},
		{"both bases", Options{}, []string{comp("", "type X struct{ live.Base; live.RoomBase }")}, "embeds both"},
		{"marker on non-struct", Options{}, []string{comp("//live:component", "type X int")}, "only struct types"},
		{"marker on alias", Options{}, []string{comp("//live:component", "type X = struct{ live.Base }")}, "only struct types"},
		{"generic", Options{}, []string{comp("", "type X[T any] struct{ live.Base; v T }")}, "generic types"},
		{"unknown marker", Options{}, []string{comp("//live:singelton", x)}, "unknown marker //live:singelton"},
		{"duplicate marker", Options{}, []string{comp("//live:name A\n//live:name B", x)}, "given twice"},
		{"marker argument", Options{}, []string{comp("//live:singleton yes", x)}, "takes no argument"},
		{"empty name", Options{}, []string{comp("//live:name", x)}, "takes one name"},
		{"bad list", Options{}, []string{comp("//live:actions a,,b", x)}, "invalid name"},
		{"list duplicate", Options{}, []string{comp("//live:writable a,a", x)}, "listed twice"},
		{"bad maxmembers", Options{}, []string{comp("//live:maxmembers 0", "type R struct{ live.RoomBase }")}, "positive number"},
		{"bad codec", Options{}, []string{comp("//live:codec xml", "type R struct{ live.RoomBase }")}, `"json" or "msgpack"`},
		{"bad new", Options{}, []string{comp("//live:new x.y", x)}, "name of a function"},
		{"missing new", Options{}, []string{comp("//live:new makeX", x)}, "no function makeX"},
		{"component and room markers", Options{}, []string{comp("//live:component\n//live:room", x)}, "exclude each other"},
		{"room marker on component", Options{}, []string{comp("//live:room", x)}, "marked //live:room but embeds the base type of a component"},
		{"component options on room", Options{}, []string{comp("//live:singleton", "type R struct{ live.RoomBase }")}, "apply to components"},
		{"room options on component", Options{}, []string{comp("//live:codec json", x)}, "apply to rooms"},
		{"room name with colon", Options{}, []string{comp("//live:name a:b", "type R struct{ live.RoomBase }")}, "must not contain ':'"},
		{"skip with others", Options{}, []string{comp("//live:skip\n//live:singleton", x)}, "excludes every other marker"},
		{"markers without kind", Options{}, []string{comp("//live:singleton", "type X struct{}")}, "neither embeds"},
		{"actions twice", Options{}, []string{comp("//live:actions a", x+"\nfunc (x *X) LiveActions() []string { return nil }")}, "keep one"},
		{"duplicate names", Options{}, []string{comp("", x), "b.go\npackage p\n" + liveImport + "//live:name X\ntype Y struct{ live.Base }\n"}, `both registered as component "X"`},
		{"constrained file", Options{}, []string{"a_windows.go\npackage p\n" + liveImport + x + "\n"}, "build constraints"},
		{"constrained by tag", Options{}, []string{"a.go\n//go:build linux\n\npackage p\n" + liveImport + x + "\n"}, "build constraints"},
		{"bad build line", Options{}, []string{"a.go\n//go:build (\n\npackage p\n"}, "a.go:"},
		{"register func declared", Options{}, []string{comp("", x+"\nfunc RegisterLive() {}")}, "RegisterLive is already declared"},
		{"other package without import path", Options{Package: "q"}, []string{comp("", x)}, "set ImportPath"},
		{"unexported in other package", Options{Package: "q", ImportPath: "example.com/p"}, []string{comp("//live:component", "type x struct{ live.Base }")}, "type x is unexported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := gen(t, tt.opts, tt.files...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q; output:\n%s", err, tt.wantErr, out)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateFiles(t *testing.T) {
	const counter = "package p\n" + liveImport + "type X struct{ live.Base }\n"
	t.Run("options", func(t *testing.T) {
		tests := []struct {
			name    string
			opts    func(dir string) Options
			outFile string // relative to the temporary root
			wantErr string
		}{
			{"custom out file", func(d string) Options { return Options{Dir: d, OutFile: "live_registry.go"} }, "pkg/live_registry.go", ""},
			{"absolute out file", func(d string) Options { return Options{Dir: d, OutFile: filepath.Join(d, "reg.go")} }, "pkg/reg.go", ""},
			{"other dir", func(d string) Options {
				return Options{Dir: d, OutFile: "../registry/zz.go", Package: "registry", ImportPath: "example.com/pkg"}
			}, "registry/zz.go", ""},
			{"other dir without package", func(d string) Options { return Options{Dir: d, OutFile: "../registry/zz.go"} }, "", "set Package and ImportPath"},
			{"test file", func(d string) Options { return Options{Dir: d, OutFile: "gen_test.go"} }, "", "not a _test.go file"},
			{"not go", func(d string) Options { return Options{Dir: d, OutFile: "gen.txt"} }, "", "must be a .go file"},
			{"bad register func", func(d string) Options { return Options{Dir: d, RegisterFunc: "Register Live"} }, "", "not a Go identifier"},
			{"bad package", func(d string) Options { return Options{Dir: d, Package: "_"} }, "", "not a package name"},
			{"missing dir", func(d string) Options { return Options{Dir: filepath.Join(d, "nope")} }, "", "no such file"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				root := t.TempDir()
				dir := filepath.Join(root, "pkg")
				write(t, filepath.Join(dir, "x.go"), counter)
				changed, err := Generate(tt.opts(dir))
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("Generate = %v, want error containing %q", err, tt.wantErr)
					}
					return
				}
				if err != nil || !changed {
					t.Fatalf("Generate = %v, %v", changed, err)
				}
				b, err := os.ReadFile(filepath.Join(root, tt.outFile))
				if err != nil || !bytes.HasPrefix(b, []byte(Header)) {
					t.Fatalf("out file: %v\n%s", err, b)
				}
			})
		}
	})
	t.Run("check mode writes nothing", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "x.go"), counter)
		changed, err := Generate(Options{Dir: dir, Check: true})
		if err != nil || !changed {
			t.Fatalf("Check = %v, %v; want out of date", changed, err)
		}
		if _, err := os.Stat(filepath.Join(dir, DefaultOutFile)); !os.IsNotExist(err) {
			t.Fatalf("Check wrote the file: %v", err)
		}
	})
	t.Run("regenerates after a change", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "x.go"), counter)
		if _, err := Generate(Options{Dir: dir}); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "y.go"), "package p\n"+liveImport+"type Y struct{ live.Base }\n")
		changed, err := Generate(Options{Dir: dir})
		b, _ := os.ReadFile(filepath.Join(dir, DefaultOutFile))
		if err != nil || !changed || !strings.Contains(string(b), "live.Component[Y]") {
			t.Fatalf("Generate after adding Y = %v, %v:\n%s", changed, err, b)
		}
	})
	t.Run("refuses a hand-written file", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "x.go"), counter)
		write(t, filepath.Join(dir, DefaultOutFile), "package p\n")
		if _, err := Generate(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
			t.Fatalf("Generate = %v", err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, DefaultOutFile)); string(b) != "package p\n" {
			t.Fatalf("hand-written file changed: %q", b)
		}
	})
	t.Run("skips hidden and test files", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "x.go"), counter)
		write(t, filepath.Join(dir, ".y.go"), "package p\n"+liveImport+"type Y struct{ live.Base }\n")
		write(t, filepath.Join(dir, "_z.go"), "syntax error")
		write(t, filepath.Join(dir, "x_test.go"), "package p_test\n")
		write(t, filepath.Join(dir, "sub", "w.go"), "package w\n")
		if _, err := Generate(Options{Dir: dir}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, DefaultOutFile))
		if strings.Contains(string(b), "Component[Y]") {
			t.Fatalf("a hidden file was scanned:\n%s", b)
		}
	})
	t.Run("no go files", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "x_test.go"), "package p\n")
		if _, err := Generate(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "no Go files") {
			t.Fatalf("Generate = %v", err)
		}
	})
	t.Run("file too large", func(t *testing.T) {
		dir := t.TempDir()
		f, err := os.Create(filepath.Join(dir, "big.go"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(MaxFileSize + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if _, err := Generate(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("Generate = %v", err)
		}
	})
}
