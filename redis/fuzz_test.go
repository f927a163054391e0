package liveredis

import (
	"strconv"
	"testing"
)

// FuzzParseLease checks the decoder of stored leases: it never panics, and
// what it accepts is exactly the canonical "<token>:<holder>" form that
// leaseValue writes.
func FuzzParseLease(f *testing.F) {
	for _, s := range []string{"1:node-a", "1776000000000001:abc:def", "0:x", "18446744073709551615:n",
		"18446744073709551616:n", "01:n", "1:", ":n", "", "-1:n", "+1:n", "1 :n", "x:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLease("k", s)
		if err != nil {
			return
		}
		if l.Key != "k" || l.Holder == "" {
			t.Fatalf("parseLease(%q) = %+v", s, l)
		}
		if back := leaseValue(l.Token, l.Holder); back != s {
			t.Fatalf("parseLease(%q) accepted a non-canonical lease (canonical %q)", s, back)
		}
	})
}

// FuzzFencedResult checks the decoder of HMGET t v replies and of the
// acquire script's replies: no panics, and an accepted token is canonical.
func FuzzFencedResult(f *testing.F) {
	f.Add("7", "value", false, false, int64(1))
	f.Add("", "", true, true, int64(0))
	f.Add("18446744073709551615", "", false, false, int64(1))
	f.Add("007", "v", false, true, int64(2))
	f.Add("1e3", "v", true, false, int64(-1))
	f.Fuzz(func(t *testing.T, tok, value string, tokNil, valueNil bool, flag int64) {
		res := []any{tok, value}
		if tokNil {
			res[0] = nil
		}
		if valueNil {
			res[1] = nil
		}
		v, token, found, err := fencedResult(res)
		if err == nil && found {
			if strconv.FormatUint(token, 10) != tok || string(v) != value {
				t.Fatalf("fencedResult(%q, %q) = %q, %d", tok, value, v, token)
			}
		}
		if found && (tokNil || valueNil) {
			t.Fatalf("fencedResult found a value in a reply with nil fields")
		}
		got, l, err := acquireResult("k", []any{flag, tok, value})
		if err == nil {
			if got != (flag == 1) || l.Holder != value || strconv.FormatUint(l.Token, 10) != tok {
				t.Fatalf("acquireResult(%d, %q, %q) = %v, %+v", flag, tok, value, got, l)
			}
		}
		if _, _, err := acquireResult("k", res); err == nil && (tokNil || valueNil) {
			t.Fatal("acquireResult accepted a reply of the wrong shape")
		}
	})
}
