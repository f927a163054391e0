package diff

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string // "" means ok=false
	}{
		{name: "last write wins", a: `{"count":5}`, b: `{"count":6}`, want: `{"count":6}`},
		{name: "disjoint keys", a: `{"a":1}`, b: `{"b":2}`, want: `{"a":1,"b":2}`},
		{name: "order of a then new keys of b", a: `{"x":1,"y":2}`, b: `{"z":3,"y":4,"w":5}`, want: `{"x":1,"y":4,"z":3,"w":5}`},
		{name: "empty a", a: `{}`, b: `{"a":1}`, want: `{"a":1}`},
		{name: "empty b", a: `{"a":1}`, b: `{}`, want: `{"a":1}`},
		{name: "both empty", a: `{}`, b: `{}`, want: `{}`},
		{name: "objects merged recursively", a: `{"o":{"a":1,"n":{"x":1}}}`, b: `{"o":{"b":2,"n":{"y":2}}}`, want: `{"o":{"a":1,"n":{"x":1,"y":2},"b":2}}`},
		{name: "array replaced", a: `{"l":[1,2]}`, b: `{"l":[3]}`, want: `{"l":[3]}`},
		{name: "object replaced by array", a: `{"v":{"a":1}}`, b: `{"v":[1]}`, want: `{"v":[1]}`},
		{name: "object replaced by scalar", a: `{"v":{"a":1}}`, b: `{"v":2}`, want: `{"v":2}`},
		{name: "top-level null after object", a: `{"v":{"a":1}}`, b: `{"v":null}`, want: `{"v":null}`},
		{name: "nested deletion after value", a: `{"o":{"a":1}}`, b: `{"o":{"a":null}}`, want: `{"o":{"a":null}}`},
		{name: "nested value after deletion", a: `{"o":{"a":null}}`, b: `{"o":{"a":1}}`, want: `{"o":{"a":1}}`},
		{name: "null after null", a: `{"a":null}`, b: `{"a":null}`, want: `{"a":null}`},
		{name: "scalar after null", a: `{"a":null}`, b: `{"a":"x"}`, want: `{"a":"x"}`},
		{name: "whitespace compacted", a: "{ \"a\" : [ 1 , 2 ] , \"o\": {\"x\": \"a b\"} }", b: "{\"o\" : { \"y\" : 2 } }", want: `{"a":[1,2],"o":{"x":"a b","y":2}}`},
		{name: "escaped key matches", a: `{"\u0061":1}`, b: `{"a":2}`, want: `{"\u0061":2}`},
		{name: "large objects", a: largeObject(20), b: `{"k19":"x","k0":"y","z":1}`, want: strings.Replace(strings.Replace(largeObject(20, `"z":1`), `"k19":19`, `"k19":"x"`, 1), `"k0":0`, `"k0":"y"`, 1)},

		// ok=false: a holds a non-object where b holds an object.
		{name: "scalar then object", a: `{"v":1}`, b: `{"v":{"a":1}}`},
		{name: "array then object", a: `{"v":[1]}`, b: `{"v":{"a":1}}`},
		{name: "string then object", a: `{"v":"s"}`, b: `{"v":{}}`},
		{name: "top-level null then object", a: `{"v":null}`, b: `{"v":{"a":1}}`},
		{name: "nested deletion then object", a: `{"o":{"v":null}}`, b: `{"o":{"v":{"a":1}}}`},
		{name: "deep conflict", a: `{"o":{"p":{"q":true}}}`, b: `{"o":{"p":{"q":{"r":1}}}}`},
		{name: "conflict after merged keys", a: `{"x":1,"o":{"a":1},"v":2}`, b: `{"o":{"b":2},"v":{"c":3}}`},

		// ok=false: an input is not an object.
		{name: "a is an array", a: `[1]`, b: `{"a":1}`},
		{name: "b is an array", a: `{"a":1}`, b: `[1]`},
		{name: "a is null", a: `null`, b: `{"a":1}`},
		{name: "b is a number", a: `{"a":1}`, b: ` 3 `},
		{name: "b is a string", a: `{"a":1}`, b: `"{}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := []byte(tt.a), []byte(tt.b)
			out, ok, err := Merge([]byte("prefix:"), a, b)
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if string(a) != tt.a || string(b) != tt.b {
				t.Errorf("Merge modified its inputs")
			}
			if !strings.HasPrefix(string(out), "prefix:") {
				t.Fatalf("Merge overwrote dst: %q", out)
			}
			got := strings.TrimPrefix(string(out), "prefix:")
			if wantOK := tt.want != ""; ok != wantOK {
				t.Fatalf("Merge ok = %v (%s), want %v", ok, got, wantOK)
			}
			if got != tt.want {
				t.Errorf("Merge = %s, want %s", got, tt.want)
			}
			if ok && !json.Valid([]byte(got)) {
				t.Errorf("Merge output is not valid JSON: %s", got)
			}
		})
	}
}

func TestMergeDepthLimit(t *testing.T) {
	nest := func(n int, leaf string) string {
		return strings.Repeat(`{"a":`, n) + leaf + strings.Repeat(`}`, n)
	}
	// Objects present in both deltas nested MaxDepthLimit deep still merge.
	out, ok, err := Merge(nil, []byte(nest(MaxDepthLimit, `1`)), []byte(nest(MaxDepthLimit, `2`)))
	if err != nil || !ok || string(out) != nest(MaxDepthLimit, `2`) {
		t.Errorf("Merge at the depth limit = %s, %v, %v", out, ok, err)
	}
	// One more level: refused, the caller sends both deltas.
	out, ok, err = Merge(nil, []byte(nest(MaxDepthLimit+1, `1`)), []byte(nest(MaxDepthLimit+1, `2`)))
	if err != nil || ok || len(out) != 0 {
		t.Errorf("Merge beyond the depth limit = %s, %v, %v; want not ok", out, ok, err)
	}
	// Deep values only one delta has are copied, whatever their depth.
	deep := nest(200, `1`)
	out, ok, err = Merge(nil, []byte(`{"x":1}`), []byte(`{"y":`+deep+`}`))
	if err != nil || !ok || string(out) != `{"x":1,"y":`+deep+`}` {
		t.Errorf("Merge with a deep value = %s, %v, %v", out, ok, err)
	}
}

func TestMergeErrors(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want error
	}{
		{name: "invalid a", a: `{"a":}`, b: `{}`, want: ErrInvalidJSON},
		{name: "invalid b", a: `{}`, b: `{"a":1`, want: ErrInvalidJSON},
		{name: "invalid b with non-object a", a: `[]`, b: `{`, want: ErrInvalidJSON},
		{name: "empty a", a: ``, b: `{}`, want: ErrInvalidJSON},
		{name: "duplicate key in a", a: `{"a":1,"a":2}`, b: `{}`, want: ErrDuplicateKey},
		{name: "duplicate key in b", a: `{}`, b: `{"a":1,"b":1,"a":2}`, want: ErrDuplicateKey},
		{name: "duplicate nested key", a: `{"o":{"x":1}}`, b: `{"o":{"y":1,"y":2}}`, want: ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ok, err := Merge([]byte("keep"), []byte(tt.a), []byte(tt.b))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Merge error = %v, want %v", err, tt.want)
			}
			if ok || string(out) != "keep" {
				t.Errorf("Merge on error = %q, %v; want dst unchanged, false", out, ok)
			}
		})
	}
}
