package codegen

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSource measures scanning the fixture package and rendering its
// file, in memory.
func BenchmarkSource(b *testing.B) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		b.Fatal(err)
	}
	var files []srcFile
	for _, e := range entries {
		n := e.Name()
		if n == DefaultOutFile || filepath.Ext(n) != ".go" || len(n) > 8 && n[len(n)-8:] == "_test.go" {
			continue
		}
		src, err := os.ReadFile(filepath.Join(fixtureDir, n))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, srcFile{name: n, src: src})
	}
	o := Options{RegisterFunc: DefaultRegisterFunc}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := source(files, o); err != nil {
			b.Fatal(err)
		}
	}
}
