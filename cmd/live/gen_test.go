package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenCommand(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\nimport \"github.com/live-go/live\"\n\ntype X struct{ live.Base }\n"
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runCommand(context.Background(), &env{stdout: &out, stderr: &out}, genCommand, args)
		return out.String(), err
	}

	if _, err := gen("-check", dir); err == nil || !strings.Contains(err.Error(), "out of date") {
		t.Fatalf("-check before generating = %v, want out of date", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "zz_live_gen.go")); !os.IsNotExist(err) {
		t.Fatal("-check wrote the file")
	}
	out, err := gen("-v", dir)
	if err != nil || out != "wrote zz_live_gen.go\n" {
		t.Fatalf("gen -v = %q, %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "zz_live_gen.go"))
	if err != nil || !strings.Contains(string(b), "live.Component[X]") {
		t.Fatalf("generated file: %v\n%s", err, b)
	}
	if out, err := gen("-v", "-check", dir); err != nil || out != "" {
		t.Fatalf("-check after generating = %q, %v", out, err)
	}
	if _, err := gen("-func", "Components", "-out", "reg.go", dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "reg.go")); !strings.Contains(string(b), "func Components(s *live.Server) error") {
		t.Fatalf("-func/-out ignored:\n%s", b)
	}

	var ue *usageError
	if _, err := gen(dir, dir); !errors.As(err, &ue) {
		t.Fatalf("two directories = %v, want a usage error", err)
	}
	if _, err := gen("-bogus"); !errors.As(err, &ue) {
		t.Fatalf("unknown flag = %v, want a usage error", err)
	}
	if _, err := gen(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing directory succeeded")
	}
}
