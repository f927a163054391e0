package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	`{}`,
	`{"a":1,"b":{"x":1,"y":[1,2]},"c":"s"}`,
	`{"a":2,"b":{"x":1,"z":null},"d":{"e":{"f":{"g":{"h":1}}}}}`,
	"{ \"a\" : [ 1 , \"x \\\" y\" ] ,\n\"b\":{\"\\u0078\":true} }",
	`{"a":null,"b":{"x":{"y":{"z":{"w":1}}}}}`,
	`{"é":1,"\u00e9":2}`,
	`[1,{"a":1}]`,
	`null`,
	`{"a":1e400,"b":-0.5E+3}`,
	`{"a":"\ud800","b":"\ufffd"}`,
	`{"a":`,
	`{"a":tru}`,
}

// decodeObject decodes b as encoding/json does; ok is false unless it is an
// object that decodes without error.
func decodeObject(b []byte) (map[string]any, bool) {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// lossless reports whether the members of m, an object at depth, meet the
// conditions under which Object's deltas are exact: no null below depth 0
// and no object deeper than maxDepth.
func lossless(m map[string]any, depth, maxDepth int) bool {
	for _, v := range m {
		switch v := v.(type) {
		case nil:
			if depth > 0 {
				return false
			}
		case map[string]any:
			if depth+1 > maxDepth || !lossless(v, depth+1, maxDepth) {
				return false
			}
		}
	}
	return true
}

func FuzzObject(f *testing.F) {
	for i, old := range fuzzSeeds {
		for j, new := range fuzzSeeds {
			if (i+j)%3 == 0 {
				f.Add([]byte(old), []byte(new), uint8(i%3), uint8(DefaultMaxDepth))
			}
		}
	}
	f.Fuzz(func(t *testing.T, old, new []byte, depth, maxDepth uint8) {
		d, md := int(depth%4), int(maxDepth%6)
		oldCopy, newCopy := bytes.Clone(old), bytes.Clone(new)
		dst := []byte("dst")
		out, changed, err := Object(dst, old, new, d, md)
		if !bytes.Equal(old, oldCopy) || !bytes.Equal(new, newCopy) {
			t.Fatal("Object modified its inputs")
		}
		if string(out[:3]) != "dst" {
			t.Fatalf("Object overwrote dst: %q", out)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrNotObject) && !errors.Is(err, ErrDuplicateKey) {
				t.Fatalf("Object error %v wraps no sentinel", err)
			}
			if errors.Is(err, ErrInvalidJSON) && json.Valid(old) && json.Valid(new) {
				t.Fatalf("Object rejected valid JSON: %v", err)
			}
			if len(out) != 3 || changed {
				t.Fatalf("Object on error = %q, %v", out, changed)
			}
			return
		}
		if !json.Valid(old) || !json.Valid(new) {
			t.Fatalf("Object accepted invalid JSON")
		}
		delta := out[3:]
		if changed != (len(delta) > 0) {
			t.Fatalf("Object changed = %v with delta %q", changed, delta)
		}
		if !changed {
			delta = []byte(`{}`)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(delta, &raw); err != nil || raw == nil {
			t.Fatalf("Object output is not a JSON object: %q", delta)
		}
		if changed && len(raw) == 0 && d <= md {
			// Above maxDepth the whole new object is the delta, even {}.
			t.Fatalf("Object reported a change with an empty delta")
		}

		// Oracle: where the rules are lossless, the delta must rebuild new.
		om, ok1 := decodeObject(old)
		nm, ok2 := decodeObject(new)
		dm, ok3 := decodeObject(delta)
		if !ok1 || !ok2 || !ok3 || d > 1 || d > md {
			return
		}
		if !lossless(om, d, md) || !lossless(nm, d, md) {
			return
		}
		var want, got map[string]any
		if d == 0 {
			for k := range om {
				if _, ok := nm[k]; !ok {
					return
				}
			}
			want, got = nm, Apply(om, dm)
		} else {
			want = map[string]any{"f": nm}
			got = map[string]any{"f": om}
			if changed {
				Apply(got, map[string]any{"f": dm})
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("applying delta %s to %s gives %v, want %v", delta, old, got, want)
		}
	})
}

// shadow returns a state with an object under every key of m that holds an
// extra member, so that replacing a value and merging into it differ.
func shadow(m map[string]any) map[string]any {
	s := make(map[string]any, len(m))
	for k, v := range m {
		sub := map[string]any{}
		if vm, ok := v.(map[string]any); ok {
			sub = shadow(vm)
		}
		sub["\x00extra"] = 1.0
		s[k] = sub
	}
	return s
}

// sharedDepth returns how deep objects present at the same path in a and b
// nest (1 for a and b themselves).
func sharedDepth(a, b map[string]any) int {
	d := 1
	for k, bv := range b {
		am, ok1 := a[k].(map[string]any)
		bm, ok2 := bv.(map[string]any)
		if ok1 && ok2 {
			d = max(d, 1+sharedDepth(am, bm))
		}
	}
	return d
}

func FuzzMerge(f *testing.F) {
	for i, a := range fuzzSeeds {
		for j, b := range fuzzSeeds {
			if (i*j)%4 == 1 || i == j {
				f.Add([]byte(a), []byte(b))
			}
		}
	}
	f.Add([]byte(`{"v":1}`), []byte(`{"v":{"a":1}}`))
	f.Add([]byte(`{"o":{"a":null}}`), []byte(`{"o":{"a":{"b":1}}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		aCopy, bCopy := bytes.Clone(a), bytes.Clone(b)
		out, ok, err := Merge([]byte("dst"), a, b)
		if !bytes.Equal(a, aCopy) || !bytes.Equal(b, bCopy) {
			t.Fatal("Merge modified its inputs")
		}
		if string(out[:3]) != "dst" {
			t.Fatalf("Merge overwrote dst: %q", out)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrDuplicateKey) {
				t.Fatalf("Merge error %v wraps no expected sentinel", err)
			}
			if errors.Is(err, ErrInvalidJSON) && json.Valid(a) && json.Valid(b) {
				t.Fatalf("Merge rejected valid JSON: %v", err)
			}
		}
		if !ok {
			if len(out) != 3 {
				t.Fatalf("Merge not ok but wrote %q", out[3:])
			}
		} else if !json.Valid(out[3:]) {
			t.Fatalf("Merge output is not valid JSON: %q", out[3:])
		}
		if err != nil {
			return
		}
		am, ok1 := decodeObject(a)
		bm, ok2 := decodeObject(b)
		if !ok1 || !ok2 {
			if ok && (bytes.TrimSpace(a)[0] != '{' || bytes.TrimSpace(b)[0] != '{') {
				t.Fatalf("Merge accepted a non-object")
			}
			return
		}
		if want := !conflict(am, bm) && sharedDepth(am, bm) <= maxMergeNesting; ok != want {
			t.Fatalf("Merge ok = %v, want %v", ok, want)
		}
		if !ok {
			return
		}
		mm, okm := decodeObject(out[3:])
		if !okm {
			t.Fatalf("Merge output %q does not decode as an object", out[3:])
		}
		for _, state := range []func() map[string]any{
			func() map[string]any { return map[string]any{} },
			func() map[string]any {
				s := shadow(am)
				for k, v := range shadow(bm) {
					if _, ok := s[k]; !ok {
						s[k] = v
					}
				}
				return s
			},
		} {
			want := Apply(Apply(state(), am), bm)
			got := Apply(state(), mm)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("merged %s applies as %v, a then b as %v", out[3:], got, want)
			}
		}
	})
}
