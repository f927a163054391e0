package signing

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseSignedState(f *testing.F) {
	f.Add([]byte(`{"data":"{\"a\":1}","signature":"ab","timestamp":1795773727840,"version":3,"componentId":"c1"}`))
	f.Add([]byte(`{"data":"x","signature":"s","timestamp":1.5e3,"version":-0,"componentId":"\ud83d\ude00","nonce":"1:a:b","compressed":true,"encrypted":false,"z":[{}]}`))
	f.Add([]byte(`{"data":"","data":""}`))
	f.Add([]byte(`[1,{"a":"\u0000"}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ss, err := ParseSignedState(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Oracle: encoding/json must agree on every field we read.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("accepted input that encoding/json rejects: %v", err)
		}
		strs := map[string]string{"data": ss.Data, "signature": ss.Signature, "componentId": ss.ComponentID, "nonce": ss.Nonce}
		for k, want := range strs {
			v, ok := m[k]
			if !ok {
				if k != "nonce" {
					t.Fatalf("accepted without %q", k)
				}
				continue
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil || s != want {
				t.Fatalf("%s = %q, encoding/json says %q (%v)", k, want, s, err)
			}
		}
		for k, want := range map[string]int64{"timestamp": ss.Timestamp, "version": ss.Version} {
			var n float64
			if err := json.Unmarshal(m[k], &n); err != nil || int64(n) != want || n != float64(want) {
				t.Fatalf("%s = %d, encoding/json says %v (%v)", k, want, n, err)
			}
		}
		for k, want := range map[string]bool{"compressed": ss.Compressed, "encrypted": ss.Encrypted} {
			if v, ok := m[k]; ok {
				var b bool
				if err := json.Unmarshal(v, &b); err != nil || b != want {
					t.Fatalf("%s = %v, encoding/json says %v (%v)", k, want, b, err)
				}
			}
		}
		// Encoding and parsing again is the identity.
		again, err := ParseSignedState(ss.AppendJSON(nil))
		if err != nil {
			t.Fatalf("re-parse of %s: %v", ss.AppendJSON(nil), err)
		}
		if again != ss {
			t.Fatalf("round trip changed %+v into %+v", ss, again)
		}
	})
}

func FuzzParseNonce(f *testing.F) {
	f.Add(makeNonce(testSecret, goldenTS, "0011223344556677"))
	f.Add("1:2:3")
	f.Add("::")
	f.Add("99999999999999999999:a:b")
	f.Add("1795773727840:0011223344556677:00112233445566778")
	s, _ := newTestSigner(f, Config{Nonces: true})
	ring := s.ring.Load()
	f.Fuzz(func(t *testing.T, nonce string) {
		p, err := parseNonce(nonce)
		if err != nil {
			if err != ErrMalformedNonce && err != ErrMalformedNonceTimestamp {
				t.Fatalf("unexpected error %v", err)
			}
		} else {
			parts := strings.Split(nonce, ":")
			if len(parts) != 3 || parts[1] != p.rand || parts[2] != p.mac {
				t.Fatalf("parse of %q = %+v", nonce, p)
			}
			if ts, err := strconv.ParseInt(parts[0], 10, 64); err != nil || ts != p.ts || ts < 0 {
				t.Fatalf("ts of %q = %d", nonce, p.ts)
			}
		}
		p, err = s.checkNonce(ring, nonce, goldenTS)
		if err == nil {
			// Accepted: the MAC must be the real one.
			head := nonce[:len(nonce)-len(p.mac)-1]
			if want := macHex(testSecret, head)[:16]; p.mac != want {
				t.Fatalf("accepted nonce %q with MAC %q, want %q", nonce, p.mac, want)
			}
		}
	})
}

// FuzzOpen feeds arbitrary fields to Open. With signIt the fields are given
// a valid HMAC so the decoding stages behind it are reached.
func FuzzOpen(f *testing.F) {
	gz := gzipB64(f, []byte(`{"a":[1,2],"__componentName":"C"}`))
	f.Add(`{"a":1,"__componentName":"C"}`, "", goldenTS, int64(1), "id", "", false, false, "C", true, false)
	f.Add(gz, "", goldenTS, int64(2), "id", "", true, false, "C", true, true)
	f.Add(`{"__componentName":"C"}`, strings.Repeat("a", 64), goldenTS, int64(1), "id", makeNonce(testSecret, goldenTS, "00"), false, false, "C", false, true)
	f.Add("AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:AAAA", "", goldenTS, int64(1), "id", "", false, true, "C", true, false)
	f.Add(`{"__componentName":"C","__componentName":"C"}`, "", goldenTS-1, int64(-1), "", "1:2:3", true, true, "", true, true)
	f.Fuzz(func(t *testing.T, data, sig string, ts, version int64, id, nonce string, compressed, encrypted bool, name string, signIt, consume bool) {
		s, _ := newTestSigner(t, Config{Nonces: true, MaxStateSize: 1 << 20})
		ss := SignedState{Data: data, Signature: sig, Timestamp: ts, Version: version, ComponentID: id, Nonce: nonce, Compressed: compressed, Encrypted: encrypted}
		if signIt {
			ss = resign(testSecret, ss)
		}
		out, err := s.Open(context.Background(), ss, name, OpenOptions{ConsumeNonce: consume})
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v carries no wire sentinel", err)
			}
			return
		}
		if !signIt && sig != macHex(testSecret, payloadOf(ss)) {
			t.Fatalf("accepted a forged signature %q", sig)
		}
		if len(out) > 1<<20 {
			t.Fatalf("output of %d bytes exceeds MaxStateSize", len(out))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("output %q is not a JSON object: %v", out, err)
		}
		if _, ok := m[componentNameKey]; ok {
			t.Fatalf("output %q still has %s", out, componentNameKey)
		}
	})
}

// FuzzSignOpen checks that Open returns what Sign was given.
func FuzzSignOpen(f *testing.F) {
	f.Add([]byte(counterState), "Counter", false)
	f.Add([]byte(`{}`), "X", true)
	f.Add([]byte(` { "a" : [ 1 , { "b" : "}" } ] } `), "Zähler", false)
	f.Add([]byte(`{"list":[`+strings.Repeat(`"item",`, 300)+`"end"]}`), "List", true)
	f.Add([]byte(`{"\u005f_componentName":1}`), "X", false)
	plain, _ := newTestSigner(f, Config{})
	encrypting, _ := newTestSigner(f, Config{Encrypt: true})
	f.Fuzz(func(t *testing.T, state []byte, name string, encrypt bool) {
		s := plain
		if encrypt {
			s = encrypting
		}
		ss, err := s.Sign("id", name, 1, state)
		if err != nil {
			return
		}
		out, err := s.Open(context.Background(), ss, name, OpenOptions{})
		var in map[string]any
		if !json.Valid(state) || !utf8.ValidString(name) || json.Unmarshal(state, &in) != nil {
			return // garbage in: Open may fail, it must only not panic
		}
		if _, reserved := in[componentNameKey]; reserved {
			if err == nil {
				t.Fatalf("state with an escaped %s key opened", componentNameKey)
			}
			return
		}
		if err != nil {
			t.Fatalf("Open(Sign(%q)): %v", state, err)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Open output %q: %v", out, err)
		}
		if !reflect.DeepEqual(in, got) {
			t.Fatalf("Open = %s, want %s", out, state)
		}
	})
}
