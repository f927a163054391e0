package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestObject(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		depth    int
		maxDepth int // DefaultMaxDepth when 0
		want     string
	}{
		// Unchanged.
		{name: "equal empty", old: `{}`, new: `{}`, want: ``},
		{name: "equal", old: `{"a":1,"b":{"c":[1,2]}}`, new: `{"a":1,"b":{"c":[1,2]}}`, want: ``},
		{name: "equal nested depth 1", old: `{"c":1}`, new: `{"c":1}`, depth: 1, want: ``},
		{name: "key order only", old: `{"a":1,"b":2}`, new: `{"b":2,"a":1}`, want: ``},
		{name: "nested key order only", old: `{"o":{"a":1,"b":2}}`, new: `{"o":{"b":2,"a":1}}`, want: ``},
		{name: "escaped key spelling only", old: `{"o":{"a":1}}`, new: `{"o":{"\u0061":1}}`, want: ``},
		{name: "insignificant whitespace", old: "{ \"a\" : [1, 2],\n\"b\":{\"c\" :\"x y\"} }", new: `{"a":[1,2],"b":{"c":"x y"}}`, want: ``},

		// Added keys.
		{name: "added top-level", old: `{"a":1}`, new: `{"a":1,"b":"x"}`, want: `{"b":"x"}`},
		{name: "added nested", old: `{"o":{"a":1}}`, new: `{"o":{"a":1,"b":true}}`, want: `{"o":{"b":true}}`},
		{name: "added to empty", old: `{}`, new: `{"a":{"b":1}}`, want: `{"a":{"b":1}}`},

		// Scalars, arrays and type changes are sent whole.
		{name: "scalar change", old: `{"count":5}`, new: `{"count":6}`, want: `{"count":6}`},
		{name: "string change", old: `{"s":"a"}`, new: `{"s":"b"}`, want: `{"s":"b"}`},
		{name: "number spelling counts", old: `{"n":1}`, new: `{"n":1.0}`, want: `{"n":1.0}`},
		{name: "array replaced whole", old: `{"l":[1,2,3]}`, new: `{"l":[1,2,4]}`, want: `{"l":[1,2,4]}`},
		{name: "array of objects replaced whole", old: `{"l":[{"a":1,"b":2}]}`, new: `{"l":[{"a":1,"b":3}]}`, want: `{"l":[{"a":1,"b":3}]}`},
		{name: "object to array", old: `{"v":{"a":1}}`, new: `{"v":[1]}`, want: `{"v":[1]}`},
		{name: "array to object", old: `{"v":[1]}`, new: `{"v":{"a":1}}`, want: `{"v":{"a":1}}`},
		{name: "scalar to object", old: `{"v":1}`, new: `{"v":{"a":1}}`, want: `{"v":{"a":1}}`},
		{name: "object to scalar", old: `{"v":{"a":1}}`, new: `{"v":"x"}`, want: `{"v":"x"}`},
		{name: "nested type change", old: `{"o":{"v":{"a":1}}}`, new: `{"o":{"v":7}}`, want: `{"o":{"v":7}}`},

		// Null.
		{name: "depth 0 null is a value", old: `{"a":1}`, new: `{"a":null}`, want: `{"a":null}`},
		{name: "depth 0 null to value", old: `{"a":null}`, new: `{"a":1}`, want: `{"a":1}`},
		{name: "depth 0 null to object", old: `{"a":null}`, new: `{"a":{"b":1}}`, want: `{"a":{"b":1}}`},
		{name: "depth 0 object to null", old: `{"a":{"b":1}}`, new: `{"a":null}`, want: `{"a":null}`},
		{name: "nested null sent as null", old: `{"o":{"a":1}}`, new: `{"o":{"a":null}}`, want: `{"o":{"a":null}}`},
		{name: "nested null added", old: `{"o":{}}`, new: `{"o":{"a":null}}`, want: `{"o":{"a":null}}`},
		{name: "null unchanged", old: `{"a":null,"o":{"b":null}}`, new: `{"a":null,"o":{"b":null}}`, want: ``},

		// Missing keys.
		{name: "depth 0 missing key is not a removal", old: `{"a":1,"b":2}`, new: `{"a":1}`, want: ``},
		{name: "depth 0 missing key with a change", old: `{"a":1,"b":2}`, new: `{"a":3}`, want: `{"a":3}`},
		{name: "depth 1 missing key is a removal", old: `{"a":1,"b":2}`, new: `{"a":1}`, depth: 1, want: `{"b":null}`},
		{name: "nested removal", old: `{"o":{"a":1,"b":2}}`, new: `{"o":{"a":1}}`, want: `{"o":{"b":null}}`},
		{name: "nested removal of object", old: `{"o":{"a":1,"b":{"c":1}}}`, new: `{"o":{"a":1}}`, want: `{"o":{"b":null}}`},
		{name: "all nested keys removed", old: `{"o":{"a":1,"b":2}}`, new: `{"o":{}}`, want: `{"o":{"a":null,"b":null}}`},
		{name: "removals after changes in old order", old: `{"o":{"x":1,"a":1,"y":2,"z":3}}`, new: `{"o":{"z":4,"n":0,"a":1}}`, want: `{"o":{"z":4,"n":0,"x":null,"y":null}}`},
		{name: "new key order kept", old: `{"a":1,"b":1,"c":1}`, new: `{"c":2,"b":2,"a":2}`, want: `{"c":2,"b":2,"a":2}`},

		// Recursion.
		{name: "one nested change", old: `{"a":1,"b":{"x":1,"y":2},"c":"s"}`, new: `{"a":1,"b":{"x":1,"y":3},"c":"s"}`, want: `{"b":{"y":3}}`},
		{name: "deep change", old: `{"a":{"b":{"c":{"d":1,"e":1}}}}`, new: `{"a":{"b":{"c":{"d":2,"e":1}}}}`, want: `{"a":{"b":{"c":{"d":2}}}}`},
		{name: "several nested changes", old: `{"a":{"x":1},"b":{"y":1},"c":2}`, new: `{"a":{"x":2},"b":{"y":1},"c":3}`, want: `{"a":{"x":2},"c":3}`},

		// Depth limit: objects at depth > maxDepth are sent whole.
		{name: "depth 3 diffed by key", old: `{"a":{"b":{"c":{"x":1,"y":1}}}}`, new: `{"a":{"b":{"c":{"x":2,"y":1}}}}`, want: `{"a":{"b":{"c":{"x":2}}}}`},
		{name: "depth 4 sent whole", old: `{"a":{"b":{"c":{"d":{"x":1,"y":1}}}}}`, new: `{"a":{"b":{"c":{"d":{"x":2,"y":1}}}}}`, want: `{"a":{"b":{"c":{"d":{"x":2,"y":1}}}}}`},
		{name: "depth 4 dropped key not deleted", old: `{"a":{"b":{"c":{"d":{"x":1,"y":1}}}}}`, new: `{"a":{"b":{"c":{"d":{"x":1}}}}}`, want: `{"a":{"b":{"c":{"d":{"x":1}}}}}`},
		{name: "depth 4 equal", old: `{"a":{"b":{"c":{"d":{"x":1}}}}}`, new: `{"a":{"b":{"c":{"d":{"x":1}}}}}`, want: ``},
		{name: "maxDepth 1", old: `{"a":{"b":{"x":1,"y":1}}}`, new: `{"a":{"b":{"x":2,"y":1}}}`, maxDepth: 1, want: `{"a":{"b":{"x":2,"y":1}}}`},
		{name: "call depth above maxDepth", old: `{"x":1,"y":1}`, new: `{"x":2,"y":1}`, depth: 4, want: `{"x":2,"y":1}`},
		{name: "call depth above maxDepth equal", old: `{"x":1}`, new: ` { "x" : 1 } `, depth: 4, want: ``},
		{name: "call depth above maxDepth key order", old: `{"x":1,"y":1}`, new: `{"y":1,"x":1}`, depth: 4, want: `{"y":1,"x":1}`},
		{name: "call depth above maxDepth compacted", old: `{"x":1}`, new: "{ \"x\" : [ 2 , \" a \" ] }", depth: 4, want: `{"x":[2," a "]}`},
		{name: "negative depth acts as 0", old: `{"a":1,"b":2}`, new: `{"a":1}`, depth: -3, want: ``},

		// Output is compact even when the input is not.
		{name: "whitespace compacted", old: `{"a":1}`, new: "{\"a\":2 ,\"b\" : { \"c\" : [ 1 , \"x \\\" y\" ] } }", want: `{"a":2,"b":{"c":[1,"x \" y"]}}`},
		{name: "whitespace nested removal", old: "{\"o\": {\"a\" :1,\n\"b\":2}}", new: "{\"o\":{\"a\": 1}}", want: `{"o":{"b":null}}`},
		{name: "escaped key kept as written", old: `{"o":{"\u00e9":1}}`, new: `{"o":{"é":2}}`, want: `{"o":{"é":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxDepth := tt.maxDepth
			if maxDepth == 0 {
				maxDepth = DefaultMaxDepth
			}
			prefix := []byte("prefix:")
			out, changed, err := Object(prefix, []byte(tt.old), []byte(tt.new), tt.depth, maxDepth)
			if err != nil {
				t.Fatalf("Object: %v", err)
			}
			if !strings.HasPrefix(string(out), "prefix:") {
				t.Fatalf("Object overwrote dst: %q", out)
			}
			got := strings.TrimPrefix(string(out), "prefix:")
			if got != tt.want {
				t.Errorf("Object delta = %s, want %s", got, tt.want)
			}
			if changed != (tt.want != "") {
				t.Errorf("Object changed = %v, want %v", changed, tt.want != "")
			}
			if changed && !json.Valid([]byte(got)) {
				t.Errorf("Object output is not valid JSON: %s", got)
			}
		})
	}
}

func TestObjectErrors(t *testing.T) {
	deep := strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting)
	tests := []struct {
		name     string
		old, new string
		depth    int
		want     error
	}{
		{name: "empty old", old: ``, new: `{}`, want: ErrInvalidJSON},
		{name: "empty new", old: `{}`, new: ``, want: ErrInvalidJSON},
		{name: "truncated", old: `{"a":1`, new: `{}`, want: ErrInvalidJSON},
		{name: "trailing garbage", old: `{}`, new: `{}x`, want: ErrInvalidJSON},
		{name: "two values", old: `{} {}`, new: `{}`, want: ErrInvalidJSON},
		{name: "trailing comma", old: `{"a":1,}`, new: `{}`, want: ErrInvalidJSON},
		{name: "bad number", old: `{"a":01}`, new: `{}`, want: ErrInvalidJSON},
		{name: "bad nested value", old: `{}`, new: `{"a":[1,tru]}`, want: ErrInvalidJSON},
		{name: "bad escape", old: `{}`, new: `{"a":"\x"}`, want: ErrInvalidJSON},
		{name: "control char", old: `{}`, new: "{\"a\":\"\x01\"}", want: ErrInvalidJSON},
		{name: "unquoted key", old: `{a:1}`, new: `{}`, want: ErrInvalidJSON},
		{name: "too deep", old: `{"a":` + deep + `}`, new: `{}`, want: ErrInvalidJSON},
		{name: "old array", old: `[]`, new: `{}`, want: ErrNotObject},
		{name: "new null", old: `{}`, new: `null`, want: ErrNotObject},
		{name: "new string", old: `{}`, new: ` "x" `, want: ErrNotObject},
		{name: "duplicate key", old: `{"a":1,"a":2}`, new: `{}`, want: ErrDuplicateKey},
		{name: "duplicate escaped key", old: `{}`, new: `{"a":1,"\u0061":2}`, want: ErrDuplicateKey},
		{name: "duplicate nested key", old: `{"o":{"a":1}}`, new: `{"o":{"b":1,"b":2}}`, want: ErrDuplicateKey},
		{name: "duplicate key in large object", old: `{}`, new: largeObject(40, `"k7":0`), want: ErrDuplicateKey},
		{name: "duplicate key at depth above maxDepth is opaque", old: `{"o":{"a":{"b":{"c":{"x":1}}}}}`, new: `{"o":{"a":{"b":{"c":{"x":1,"x":2}}}}}`, want: nil},
		{name: "duplicate key in opaque call", depth: 4, old: `{"x":1,"x":2}`, new: `{"x":1}`, want: nil},
		{name: "invalid JSON in opaque call", depth: 4, old: `{"x":1,}`, new: `{"x":1}`, want: ErrInvalidJSON},
		{name: "non-object in opaque call", depth: 4, old: `{"x":1}`, new: `[1]`, want: ErrNotObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, changed, err := Object(dst, []byte(tt.old), []byte(tt.new), tt.depth, DefaultMaxDepth)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Object error = %v, want %v", err, tt.want)
			}
			if err != nil && (string(out) != "keep" || changed) {
				t.Errorf("Object on error = %q, %v; want dst unchanged, false", out, changed)
			}
		})
	}
}

// TestObjectNestingLimit checks that the nesting limit matches encoding/json.
func TestObjectNestingLimit(t *testing.T) {
	for _, n := range []int{maxNesting - 1, maxNesting} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// The object itself is one level.
			v := `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
			_, _, err := Object(nil, []byte(v), []byte(`{}`), 0, DefaultMaxDepth)
			if gotOK, wantOK := err == nil, json.Valid([]byte(v)); gotOK != wantOK {
				t.Errorf("nesting %d: Object error %v, json.Valid %v", n+1, err, wantOK)
			}
		})
	}
}

// largeObject returns an object with n members "k0".."k(n-1)" plus extra
// members.
func largeObject(n int, extra ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	for _, e := range extra {
		b.WriteByte(',')
		b.WriteString(e)
	}
	b.WriteByte('}')
	return b.String()
}

func TestObjectLarge(t *testing.T) {
	// More members than smallObject on both sides, in a different order, so
	// matching goes through the sorted index.
	old := `{"o":` + largeObject(40, `"gone":1`) + `}`
	var b strings.Builder
	b.WriteString(`{"o":{"new":true`)
	for i := 39; i >= 0; i-- {
		v := i
		if i == 17 {
			v = -1
		}
		fmt.Fprintf(&b, `,"k%d":%d`, i, v)
	}
	b.WriteString(`}}`)
	out, changed, err := Object(nil, []byte(old), []byte(b.String()), 0, DefaultMaxDepth)
	if err != nil || !changed {
		t.Fatalf("Object = %v, %v", changed, err)
	}
	if want := `{"o":{"new":true,"k17":-1,"gone":null}}`; string(out) != want {
		t.Errorf("Object = %s, want %s", out, want)
	}

	// Large on one side only: linear matching.
	out, _, err = Object(nil, []byte(`{"o":{"k3":3,"x":1}}`), []byte(`{"o":`+largeObject(20)+`}`), 0, DefaultMaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	if len(got["o"]) != 20 || got["o"]["x"] != nil || got["o"]["k3"] != nil {
		t.Errorf("Object = %s, want the 19 new keys and x removed", out)
	}
	if _, ok := got["o"]["x"]; !ok {
		t.Errorf("Object = %s, want x removed", out)
	}

	// Large old, small new.
	out, _, err = Object(nil, []byte(`{"o":`+largeObject(20)+`}`), []byte(`{"o":{"k3":4,"k19":19,"x":1}}`), 0, DefaultMaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"o":{"k3":4,"x":1,"k0":null,"k1":null,"k2":null,"k4":null,"k5":null,"k6":null,"k7":null,"k8":null,"k9":null,"k10":null,"k11":null,"k12":null,"k13":null,"k14":null,"k15":null,"k16":null,"k17":null,"k18":null}}`
	if string(out) != want {
		t.Errorf("Object = %s, want %s", out, want)
	}
}

func TestObjectInputsUntouched(t *testing.T) {
	old := []byte(`{"a":{"b":1,"c":2},"d":[1]}`)
	new := []byte("{\"a\": {\"b\": 2}, \"d\": [ 2 ]}")
	oldCopy, newCopy := string(old), string(new)
	if _, _, err := Object(nil, old, new, 0, DefaultMaxDepth); err != nil {
		t.Fatal(err)
	}
	if string(old) != oldCopy || string(new) != newCopy {
		t.Errorf("Object modified its inputs")
	}
}

func TestObjectMaxDepthLimit(t *testing.T) {
	nest := func(n int, leaf string) string {
		return strings.Repeat(`{"a":`, n) + leaf + strings.Repeat(`}`, n)
	}
	// The outer object is at depth 0, so the innermost object {"x":..,"y":1}
	// sits at depth MaxDepthLimit+1: with any larger maxDepth it is still
	// sent whole.
	old := nest(MaxDepthLimit+1, `{"x":1,"y":1}`)
	new := nest(MaxDepthLimit+1, `{"x":2,"y":1}`)
	out, changed, err := Object(nil, []byte(old), []byte(new), 0, 1000)
	if err != nil || !changed {
		t.Fatalf("Object = %v, %v", changed, err)
	}
	if string(out) != new {
		t.Errorf("Object = %s, want %s", out, new)
	}
	// One level shallower it is diffed key by key.
	old = nest(MaxDepthLimit, `{"x":1,"y":1}`)
	new = nest(MaxDepthLimit, `{"x":2,"y":1}`)
	out, _, err = Object(nil, []byte(old), []byte(new), 0, 1000)
	if want := nest(MaxDepthLimit, `{"x":2}`); err != nil || string(out) != want {
		t.Errorf("Object = %s, %v; want %s", out, err, want)
	}
}
