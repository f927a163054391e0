package live

import (
	"strconv"
	"testing"
)

// The set keeps every entry by the id it was added under, across the
// switch from slice to map, and refuses adds once torn down.
func TestCompSet(t *testing.T) {
	var s compSet
	ins := make([]*instance, 3*smallComps)
	for i := range ins {
		ins[i] = &instance{id: "c" + strconv.Itoa(i)}
	}
	check := func(n int) {
		t.Helper()
		for i, in := range ins {
			got := s.get(in.id)
			if want := i < n && i%3 != 1; (got == in) != want {
				t.Fatalf("with %d added: get(%s) = %p, want present=%v", n, in.id, got, want)
			}
		}
		if got, want := len(s.all()), n-(n+1)/3; got != want {
			t.Fatalf("with %d added: all() has %d, want %d", n, got, want)
		}
	}
	for n, in := range ins {
		if !s.add(in.id, in) {
			t.Fatal("add refused before tearDown")
		}
		if n%3 == 1 && s.remove(in.id) != in {
			t.Fatalf("remove(%s) did not return it", in.id)
		}
		check(n + 1)
	}
	if s.m == nil {
		t.Fatalf("%d entries still in the slice form", len(s.all()))
	}
	if s.remove("absent") != nil {
		t.Fatal("remove of an absent id returned something")
	}
	out := s.tearDown()
	if len(out) != 2*smallComps || s.add("x", ins[0]) || s.get(ins[0].id) != nil {
		t.Fatalf("tearDown: %d returned; set still usable", len(out))
	}
}
