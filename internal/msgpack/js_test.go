package msgpack

import (
	"testing"
)

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
