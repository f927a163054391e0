package livenats

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// validKey is nats.go's rule for KV keys; a valid key is also a valid
// subject suffix (no empty tokens, no wildcards or spaces).
var validKey = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func keyValid(k string) bool {
	return validKey.MatchString(k) && k[0] != '.' && k[len(k)-1] != '.' && !strings.Contains(k, "..")
}

func TestEncodeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"live.room.lobby", "live.room.lobby"},
		{"singleton/Counter", "singleton/Counter"},
		{"nonce/1712:ab:cd", "nonce/1712=3Aab=3Acd"},
		{"a-b_c", "a-b_c"},
		{"", "="},
		{".", "=.="},
		{"a..b", "a.=.b"},
		{".a", "=.a"},
		{"a.", "a.="},
		{"=", "=3D"},
		{"*", "=2A"},
		{">", "=3E"},
		{"a b", "a=20b"},
		{"é", "=C3=A9"},
		{"\x00\xff", "=00=FF"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := encodeName(tc.in)
			if got != tc.want {
				t.Fatalf("encodeName(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !keyValid(got) {
				t.Fatalf("encodeName(%q) = %q is not a valid KV key", tc.in, got)
			}
			back, err := decodeName(got)
			if err != nil || back != tc.in {
				t.Fatalf("decodeName(%q) = %q, %v; want %q", got, back, err, tc.in)
			}
		})
	}
}

func TestDecodeNameRejects(t *testing.T) {
	for _, in := range []string{
		"", ".", "a..b", ".a", "a.", // empty tokens
		"=4", "=4g", "=4a", "a=", "=3", // bad or lower-case escapes
		"=41",                    // 'A' needs no escape
		"=2E",                    // '.' is never escaped
		"a b", "a*", "a>", "a:b", // bytes that must be escaped
		"==3D",
	} {
		if got, err := decodeName(in); !errors.Is(err, errBadName) {
			t.Errorf("decodeName(%q) = %q, %v; want errBadName", in, got, err)
		}
	}
}

func TestValueRecord(t *testing.T) {
	tests := []struct {
		name  string
		token uint64
		ttl   time.Duration
		value []byte
	}{
		{"empty", 0, 0, nil},
		{"typical", 7, 31 * time.Minute, []byte(`{"id":"x"}`)},
		{"max", math.MaxUint64, math.MaxInt64, bytes.Repeat([]byte{0xA1}, 300)},
		{"2^53+1", 1<<53 + 1, time.Nanosecond, []byte{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := appendValue(nil, tc.token, tc.ttl, tc.value)
			r, err := decodeValue(b)
			if err != nil {
				t.Fatal(err)
			}
			if r.token != tc.token || r.ttl != tc.ttl || !bytes.Equal(r.value, tc.value) {
				t.Fatalf("decoded %+v, want %d %v %q", r, tc.token, tc.ttl, tc.value)
			}
		})
	}
	for _, bad := range [][]byte{nil, {}, {0xB1}, {0xA1}, {0xA1, 0x80}, {0xA1, 1}, {0xA1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodeValue(bad); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeValue(%x): %v, want errCorrupt", bad, err)
		}
	}
}

func TestLeaseRecord(t *testing.T) {
	tests := []struct {
		name string
		r    leaseRecord
	}{
		{"held", leaseRecord{held: true, token: 3, ttl: 15 * time.Second, holder: "node-1"}},
		{"released", leaseRecord{token: 9}},
		{"released with holder", leaseRecord{token: 9, ttl: time.Second, holder: "n"}},
		{"max token", leaseRecord{held: true, token: math.MaxUint64, ttl: math.MaxInt64, holder: strings.Repeat("h", maxNodeID)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeLease(appendLease(nil, tc.r))
			if err != nil {
				t.Fatal(err)
			}
			if r != tc.r {
				t.Fatalf("decoded %+v, want %+v", r, tc.r)
			}
		})
	}
	long := appendLease(nil, leaseRecord{held: true, token: 1, ttl: 1, holder: strings.Repeat("h", maxNodeID+1)})
	for _, bad := range [][]byte{nil, {0xB1}, {0xA1, 0}, {0xB1, 2, 1, 1}, {0xB1, 1, 1, 1}, {0xB1, 1, 1, 0, 'h'}, {0xB1, 0, 0x80}, long} {
		if _, err := decodeLease(bad); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeLease(%x): %v, want errCorrupt", bad, err)
		}
	}
}

func TestExpired(t *testing.T) {
	at := time.Unix(1000, 0)
	tests := []struct {
		name string
		ttl  time.Duration
		now  time.Time
		want bool
	}{
		{"no ttl", 0, at.Add(100 * time.Hour), false},
		{"before", time.Second, at.Add(999 * time.Millisecond), false},
		{"at expiry", time.Second, at.Add(time.Second), true},
		{"after", time.Second, at.Add(2 * time.Second), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := expired(at, tc.ttl, tc.now); got != tc.want {
				t.Fatalf("expired = %v, want %v", got, tc.want)
			}
		})
	}
}

// Names: any string encodes to a valid key and back; decodeName accepts
// only what encodeName produces.
func FuzzName(f *testing.F) {
	for _, s := range []string{"", ".", "live.room.a:b", "nonce/1:2:3", "=3D", "a..b", "é*> \x00"} {
		f.Add(s)
		f.Add(encodeName(s))
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := encodeName(s)
		if !keyValid(enc) {
			t.Fatalf("encodeName(%q) = %q is not a valid KV key", s, enc)
		}
		if back, err := decodeName(enc); err != nil || back != s {
			t.Fatalf("decodeName(encodeName(%q)) = %q, %v", s, back, err)
		}
		if dec, err := decodeName(s); err == nil && encodeName(dec) != s {
			t.Fatalf("decodeName accepted %q (as %q), which encodeName does not produce", s, dec)
		}
	})
}

// Value records from the bucket are untrusted: decoding never panics and
// what decodes re-encodes to an equivalent record.
func FuzzValueRecord(f *testing.F) {
	f.Add(appendValue(nil, 7, time.Minute, []byte("state")))
	f.Add(appendValue(nil, math.MaxUint64, 0, nil))
	f.Add([]byte{0xA1, 0x80, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeValue(b)
		if err != nil {
			return
		}
		if r.ttl < 0 {
			t.Fatalf("negative ttl %v", r.ttl)
		}
		r2, err := decodeValue(appendValue(nil, r.token, r.ttl, r.value))
		if err != nil || r2.token != r.token || r2.ttl != r.ttl || !bytes.Equal(r2.value, r.value) {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, r2, err)
		}
	})
}

// Lease records from the bucket are untrusted, as value records.
func FuzzLeaseRecord(f *testing.F) {
	f.Add(appendLease(nil, leaseRecord{held: true, token: 3, ttl: time.Second, holder: "node-1"}))
	f.Add(appendLease(nil, leaseRecord{token: 4}))
	f.Add([]byte{0xB1, 1, 0x80})
	f.Add([]byte{0xB1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeLease(b)
		if err != nil {
			return
		}
		if r.ttl < 0 || len(r.holder) > maxNodeID || r.held && (r.holder == "" || r.ttl == 0) {
			t.Fatalf("decoded an invalid record %+v", r)
		}
		if r2, err := decodeLease(appendLease(nil, r)); err != nil || r2 != r {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, r2, err)
		}
	})
}
