package codegen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/fixture/zz_live_gen.go")

const fixtureDir = "testdata/fixture"

// copyFixture copies the fixture's sources (not its generated file) into a
// temporary directory and returns it.
func copyFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == DefaultOutFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(fixtureDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGolden(t *testing.T) {
	dir := copyFixture(t)
	changed, err := Generate(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("first Generate reported no change")
	}
	out := filepath.Join(dir, DefaultOutFile)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(fixtureDir, DefaultOutFile)
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("generated file differs from %s (run go test -update):\n%s", golden, lineDiff(string(want), string(got)))
	}

	// Regenerating changes nothing, not even the modification time.
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(out, past, past); err != nil {
		t.Fatal(err)
	}
	for _, check := range []bool{false, true} {
		changed, err = Generate(Options{Dir: dir, Check: check})
		if err != nil || changed {
			t.Fatalf("Generate again (Check=%v) = %v, %v; want no change", check, changed, err)
		}
	}
	if fi, err := os.Stat(out); err != nil || !fi.ModTime().Equal(past) {
		t.Fatalf("regeneration touched the file: %v %v", fi.ModTime(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 9 {
		t.Fatalf("temporary files left behind: %d entries", len(entries))
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return "(equal)"
}
