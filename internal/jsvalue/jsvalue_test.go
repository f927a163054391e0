package jsvalue

import (
	"math"
	"testing"
)

func TestAppendNumber(t *testing.T) {
	// Expected strings are what JavaScript's String(n) returns.
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "0"},
		{1, "1"},
		{-1.5, "-1.5"},
		{0.1, "0.1"},
		{math.Float64frombits(0x3fd3333333333334), "0.30000000000000004"}, // 0.1 + 0.2 at run time
		{1.0 / 3, "0.3333333333333333"},
		{100, "100"},
		{123e18, "123000000000000000000"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1.5e300, "1.5e+300"},
		{-2.5e25, "-2.5e+25"},
		{1e-6, "0.000001"},
		{1.5e-6, "0.0000015"},
		{1e-7, "1e-7"},
		{1.23e-7, "1.23e-7"},
		{0.000123, "0.000123"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{9007199254740992, "9007199254740992"},
		{4294967295, "4294967295"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{12.5, "12.5"},
		{-1e-7, "-1e-7"},
		{123456789012345680000, "123456789012345680000"},
	}
	for _, tt := range tests {
		if got := string(AppendNumber(nil, tt.f)); got != tt.want {
			t.Errorf("AppendNumber(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestNumberMatchesAppendNumber(t *testing.T) {
	for _, f := range []float64{0, -3, 0.1, 1e21, 1e-7, math.NaN()} {
		if got, want := Number(f), string(AppendNumber(nil, f)); got != want {
			t.Errorf("Number(%v) = %q, AppendNumber %q", f, got, want)
		}
	}
}

func TestDecodeText(t *testing.T) {
	// Expected strings are what new TextDecoder().decode(bytes) returns.
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"valid", "héllo 😀", "héllo 😀"},
		{"bom dropped", "\xef\xbb\xbfabc", "abc"},
		{"only the leading bom", "a\xef\xbb\xbf", "a\ufeff"},
		{"lone continuation", "a\x80b", "a\ufffdb"},
		{"truncated three-byte sequence is one replacement", "\xe2\x82a", "\ufffda"},
		{"overlong lead then continuation", "\xf0\x80", "\ufffd\ufffd"},
		{"surrogate", "\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"invalid lead bytes", "\xc0\xff", "\ufffd\ufffd"},
		{"cut at the end", "ok\xf0\x9f\x98", "ok\ufffd"},
	}
	for _, tt := range tests {
		if got := DecodeText([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: DecodeText(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
