package signing

import (
	"context"
	"strings"
	"testing"
)

func BenchmarkSign(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"small", Config{}},
		{"small/nonce", Config{Nonces: true}},
		{"small/encrypted", Config{Encrypt: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := newTestSigner(b, bc.cfg)
			state := []byte(counterState)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sign("live-adbefd19", "Counter", 1, state); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("compressed-4KiB", func(b *testing.B) {
		s, _ := newTestSigner(b, Config{})
		state := []byte(`{"items":[` + strings.Repeat(`{"id":1,"text":"hello world"},`, 140) + `null]}`)
		b.SetBytes(int64(len(state)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Sign("live-adbefd19", "Counter", 1, state); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	s, _ := newTestSigner(b, Config{})
	ss, err := s.Sign("live-adbefd19", "Counter", 1, []byte(counterState))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(ctx, ss, "Counter", OpenOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	s, _ := newTestSigner(b, Config{})
	ss, _ := s.Sign("live-adbefd19", "Counter", 1, []byte(counterState))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = ss.AppendJSON(buf[:0])
	}
}

func BenchmarkParseSignedState(b *testing.B) {
	s, _ := newTestSigner(b, Config{})
	ss, _ := s.Sign("live-adbefd19", "Counter", 1, []byte(counterState))
	raw := ss.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSignedState(raw); err != nil {
			b.Fatal(err)
		}
	}
}
