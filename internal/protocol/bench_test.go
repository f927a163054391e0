package protocol

import (
	"strings"
	"testing"
)

var benchCallAction = []byte(`{"type":"CALL_ACTION","componentId":"AbCdEfGh","action":"increment","payload":{},"requestId":"r1","expectResponse":true}`)

func BenchmarkParseCallAction(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCallAction)))
	for b.Loop() {
		env, err := Parse(benchCallAction)
		if err != nil || env.Action != "increment" {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMount(b *testing.B) {
	frame := []byte(`{"type":"COMPONENT_MOUNT","componentId":"mount-Counter","payload":{"component":"Counter","props":{"initial":5,"label":"x"},"room":"lobby"},"requestId":"AbCdEfGh","expectResponse":true,"timestamp":1795773727835}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Parse(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLargePayload(b *testing.B) {
	frame := []byte(`{"type":"CALL_ACTION","componentId":"AbCdEfGh","action":"save","payload":{"text":"` +
		strings.Repeat("lorem ipsum dolor sit amet ", 4000) + `","n":[1,2,3,{"a":true}]},"requestId":"r1"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Parse(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDepth(b *testing.B) {
	for _, bc := range []struct {
		name  string
		frame []byte
	}{
		{"CallAction", benchCallAction},
		{"LargeString", []byte(`{"type":"CALL_ACTION","payload":{"text":"` + strings.Repeat("lorem \\\"ipsum\\\" dolor ", 5000) + `"}}`)},
		{"Nested", []byte(strings.Repeat(`{"a":[1,2,`, 15) + `0` + strings.Repeat(`]}`, 15))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.frame)))
			for b.Loop() {
				if _, exceeded := Depth(bc.frame, DefaultMaxDepth); exceeded {
					b.Fatal("exceeded")
				}
			}
		})
	}
}

func BenchmarkAppendString(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"ASCII", "increment the counter by one and report back"},
		{"Escapes", "line1\nline2\t\"quoted\" \\ back"},
		{"Unicode", "héllo wörld – ünïcødé ✓ 日本語"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf = AppendString(buf[:0], bc.s)
			}
		})
	}
}

func BenchmarkActionResponse(b *testing.B) {
	result := []byte(`{"success":true,"count":42}`)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		o := Object(buf[:0])
		o.Str("type", TypeActionResponse)
		o.Str("componentId", "AbCdEfGh")
		o.Bool("success", true)
		o.Raw("result", result)
		o.StrIfSet("requestId", "r1")
		buf = o.Close()
	}
	if want := `{"type":"ACTION_RESPONSE","componentId":"AbCdEfGh","success":true,"result":{"success":true,"count":42},"requestId":"r1"}`; string(buf) != want {
		b.Fatalf("got %s", buf)
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if len(NewID()) != IDLength {
			b.Fatal("bad id")
		}
	}
}

func BenchmarkNewIDParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if len(NewID()) != IDLength {
				b.Fatal("bad id")
			}
		}
	})
}

func BenchmarkForbiddenKey(b *testing.B) {
	payload := []byte(`{"user":{"name":"ann","tags":["a","b"],"prefs":{"theme":"dark","size":12}},"items":[{"id":1},{"id":2}]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, found := ForbiddenKey(payload, SanitizeDepth); found {
			b.Fatal("found")
		}
	}
}
