package msgpack

import (
	"math"
	"testing"
)

func TestAppendJSNumber(t *testing.T) {
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
	}
	for _, tt := range tests {
		if got := string(appendJSNumber(nil, tt.f)); got != tt.want {
			t.Errorf("appendJSNumber(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestArrayIndex(t *testing.T) {
	tests := []struct {
		key  string
		want uint32
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"4294967294", 4294967294, true},
		{"4294967295", 0, false},
		{"9999999999", 0, false},
		{"12345678901", 0, false},
		{"01", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"1.0", 0, false},
		{"1e3", 0, false},
		{" 1", 0, false},
	}
	for _, tt := range tests {
		got, ok := arrayIndex(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("arrayIndex(%q) = %d, %v; want %d, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
