package diff

import "testing"

func BenchmarkObject(b *testing.B) {
	benchmarks := []struct {
		name     string
		old, new string
		depth    int
	}{
		{name: "small nested change", old: `{"a":1,"b":{"x":1,"y":2},"c":"s"}`, new: `{"a":1,"b":{"x":1,"y":3},"c":"s"}`, depth: 1},
		{name: "small unchanged", old: `{"a":1,"b":{"x":1,"y":2},"c":"s"}`, new: `{"a":1,"b":{"x":1,"y":2},"c":"s"}`, depth: 1},
		{name: "40 keys one change", old: largeObject(40), new: largeObject(40, `"k40":1`), depth: 1},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			old, new := []byte(bm.old), []byte(bm.new)
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			b.SetBytes(int64(len(old) + len(new)))
			for b.Loop() {
				var err error
				dst, _, err = Object(dst[:0], old, new, bm.depth, DefaultMaxDepth)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMerge(b *testing.B) {
	benchmarks := []struct {
		name string
		a, b string
	}{
		{name: "count", a: `{"count":5}`, b: `{"count":6}`},
		{name: "nested", a: `{"o":{"a":1,"b":{"x":1}},"n":[1,2]}`, b: `{"o":{"b":{"y":2}},"m":true}`},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			x, y := []byte(bm.a), []byte(bm.b)
			dst := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				dst, _, err = Merge(dst[:0], x, y)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
