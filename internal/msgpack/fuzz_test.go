package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// decodeErrors are the sentinels every decoding failure wraps.
var decodeErrors = []error{ErrTruncated, ErrTooDeep, ErrCountExceedsRemaining, ErrUnknownType, ErrTrailingBytes}

func isOneOf(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// sameValue is reflect.DeepEqual for decoded values, except that NaN
// equals NaN.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		bf, ok := b.(float64)
		return ok && (a == bf || (math.IsNaN(a) && math.IsNaN(bf)))
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], bb[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

func FuzzDecode(f *testing.F) {
	for _, g := range goldens {
		if g.raw == nil {
			f.Add(hx(f, g.hex))
		}
	}
	f.Add(bytes.Repeat([]byte{0x91}, MaxDepth+1))
	f.Add(append(bytes.Repeat([]byte{0x91}, MaxDepth), 0x01))
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xdf, 0x80, 0x00, 0x00, 0x00, 0x01})
	f.Add([]byte{0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02})
	f.Add([]byte{0x81, 0x92, 0xc0, 0x01, 0xc4, 0x01, 0x07})
	f.Add([]byte{0xa4, 0xef, 0xbb, 0xbf, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		js, jerr := DecodeToJSON(nil, data)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("Decode err %v, DecodeToJSON err %v", err, jerr)
		}
		if err != nil {
			if !isOneOf(err, decodeErrors) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !json.Valid(js) {
			t.Fatalf("DecodeToJSON wrote invalid JSON %q", js)
		}
		// Whatever decodes re-encodes to an equal value (map order aside).
		enc, err := Append(nil, v)
		if err != nil {
			t.Fatalf("Append(decoded): %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Append(decoded)): %v", err)
		}
		if !sameValue(v, again) {
			t.Fatalf("re-encoding changed the value:\n%#v\n%#v", v, again)
		}
	})
}

// stripProto removes the keys the decoder drops from a value decoded by
// encoding/json.
func stripProto(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			switch k {
			case "__proto__", "constructor", "prototype":
				delete(v, k)
			default:
				v[k] = stripProto(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = stripProto(e)
		}
	}
	return v
}

// depthOf returns the largest number of containers around a value in v.
func depthOf(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, 1+depthOf(e))
		}
	case []any:
		for _, e := range v {
			d = max(d, 1+depthOf(e))
		}
	}
	return d
}

func FuzzAppendJSON(f *testing.F) {
	for _, g := range goldens {
		if len(g.json) < 200 {
			f.Add([]byte(g.json))
		}
	}
	f.Add([]byte(`{"a":1,"0":{"b":[1,2,{"c":"\u00e9\ud800"}]},"a":2}`))
	f.Add([]byte(`[1e400,-0,3.0,0.1,4294967296,-2147483649]`))
	f.Add([]byte("\"\xff\\n\""))
	f.Add([]byte(`{"__proto__":{"x":1},"constructor":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		prefix := []byte{0xee}
		out, err := AppendJSON(prefix, raw)
		valid := json.Valid(raw)
		if err != nil {
			if len(out) != len(prefix) || out[0] != 0xee {
				t.Fatalf("dst changed on error: % x", out)
			}
			if valid && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("valid JSON %q rejected: %v", raw, err)
			}
			if !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("invalid JSON %q accepted", raw)
		}
		if out[0] != 0xee {
			t.Fatal("prefix overwritten")
		}
		got, err := Decode(out[1:])
		var want any
		if json.Unmarshal(raw, &want) != nil {
			return // a number out of float64 range: encoding/json refuses it
		}
		if depthOf(want) > MaxDepth {
			if !errors.Is(err, ErrTooDeep) {
				t.Fatalf("Decode of depth %d: %v", depthOf(want), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Decode(AppendJSON(%q)): %v", raw, err)
		}
		if want = stripProto(want); !sameValue(got, want) {
			t.Fatalf("AppendJSON(%q) decodes to\n%#v\nwant\n%#v", raw, got, want)
		}
	})
}
