package diff

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeBytes unmarshals a JSON object; an empty input is an empty delta.
func decodeBytes(t *testing.T, b []byte) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(b) == 0 {
		return m
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// TestObjectProperty checks that applying the delta of two random states to
// the old one yields the new one, for whole states (depth 0) and for single
// field values (depth 1), under the conditions where the protocol's rules are
// lossless: no nulls inside nested objects, no object nested deeper than
// maxDepth, and at depth 0 every old key still present.
func TestObjectProperty(t *testing.T) {
	const cases = 3000
	g := newGen(1)
	for i := range cases {
		maxDepth := g.r.IntN(DefaultMaxDepth + 2) // 0..4
		old := g.object(0, maxDepth)
		var new map[string]any
		if g.r.IntN(5) == 0 {
			// Unrelated states, with every old top-level key kept.
			new = g.object(0, maxDepth)
			for k, v := range old {
				if _, ok := new[k]; !ok {
					new[k] = clone(v)
				}
			}
		} else {
			new = g.mutate(old, 0, maxDepth)
		}
		oldStyle, newStyle := g.r.IntN(2), g.r.IntN(2)
		oldJSON, newJSON := g.encode(old, oldStyle), g.encode(new, newStyle)
		label := func() string {
			return fmt.Sprintf("case %d maxDepth %d\nold %s\nnew %s", i, maxDepth, oldJSON, newJSON)
		}

		delta, changed, err := Object(nil, oldJSON, newJSON, 0, maxDepth)
		if err != nil {
			t.Fatalf("%s\nObject: %v", label(), err)
		}
		if changed != (len(delta) > 0) || (changed && !json.Valid(delta)) {
			t.Fatalf("%s\nObject = %q, changed %v", label(), delta, changed)
		}
		got := Apply(decodeBytes(t, oldJSON), decodeBytes(t, delta))
		if !reflect.DeepEqual(new, got) {
			d := cmp.Diff(new, got)
			t.Fatalf("%s\ndelta %s\nApply mismatch (-want +got):\n%s", label(), delta, d)
		}
		if oldStyle == 0 && newStyle == 0 && reflect.DeepEqual(old, new) && changed {
			t.Fatalf("%s\nequal states gave delta %s", label(), delta)
		}

		// One field's value: depth 1, where missing keys are removals.
		if maxDepth == 0 {
			continue
		}
		fieldOld := g.object(1, maxDepth)
		fieldNew := g.mutate(fieldOld, 1, maxDepth)
		oldJSON, newJSON = g.encode(fieldOld, g.r.IntN(2)), g.encode(fieldNew, g.r.IntN(2))
		label = func() string {
			return fmt.Sprintf("case %d maxDepth %d\nfield old %s\nfield new %s", i, maxDepth, oldJSON, newJSON)
		}
		delta, changed, err = Object(delta[:0], oldJSON, newJSON, 1, maxDepth)
		if err != nil {
			t.Fatalf("%s\nObject depth 1: %v", label(), err)
		}
		state := map[string]any{"f": decodeBytes(t, oldJSON)}
		if changed {
			Apply(state, map[string]any{"f": decodeBytes(t, delta)})
		}
		if want := map[string]any{"f": fieldNew}; !reflect.DeepEqual(want, state) {
			d := cmp.Diff(want, state)
			t.Fatalf("%s\ndelta %s\nApply mismatch (-want +got):\n%s", label(), delta, d)
		}
	}
}

// TestMergeProperty checks that whenever Merge accepts two random deltas,
// applying the merged delta to a random state equals applying both in turn,
// and that it refuses exactly when a holds a non-object where b holds an
// object.
func TestMergeProperty(t *testing.T) {
	const cases = 3000
	g := newGen(2)
	var merged, refused int
	for i := range cases {
		g.nulls = false
		state := g.object(0, 4)
		g.nulls = true
		a := g.object(0, 4)
		var b map[string]any
		if g.r.IntN(2) == 0 {
			b = g.mutate(a, 0, 4) // shares most keys and shapes with a
		} else {
			b = g.object(0, 4)
		}
		aJSON, bJSON := g.encode(a, g.r.IntN(2)), g.encode(b, g.r.IntN(2))
		stateJSON := g.encode(state, 0)
		label := func() string {
			return fmt.Sprintf("case %d\nstate %s\na %s\nb %s", i, stateJSON, aJSON, bJSON)
		}

		aCopy, bCopy := string(aJSON), string(bJSON)
		out, ok, err := Merge(nil, aJSON, bJSON)
		if err != nil {
			t.Fatalf("%s\nMerge: %v", label(), err)
		}
		if string(aJSON) != aCopy || string(bJSON) != bCopy {
			t.Fatalf("%s\nMerge modified its inputs", label())
		}
		if want := !conflict(a, b); ok != want {
			t.Fatalf("%s\nMerge ok = %v, want %v (%s)", label(), ok, want, out)
		}
		if !ok {
			refused++
			if len(out) != 0 {
				t.Fatalf("%s\nMerge refused but wrote %q", label(), out)
			}
			continue
		}
		merged++
		if !json.Valid(out) {
			t.Fatalf("%s\nMerge output invalid: %s", label(), out)
		}
		want := Apply(Apply(decodeBytes(t, stateJSON), decodeBytes(t, aJSON)), decodeBytes(t, bJSON))
		got := Apply(decodeBytes(t, stateJSON), decodeBytes(t, out))
		if !reflect.DeepEqual(want, got) {
			d := cmp.Diff(want, got)
			t.Fatalf("%s\nmerged %s\nmismatch (-a then b +merged):\n%s", label(), out, d)
		}
	}
	// Both outcomes must be exercised for the test to mean anything.
	if merged < cases/4 || refused < cases/20 {
		t.Fatalf("poor coverage: %d merged, %d refused", merged, refused)
	}
}
