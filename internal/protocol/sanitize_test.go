package protocol

import (
	"encoding/json"
	"testing"
)

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a":1}`, `{"a":1}`},
		{`{"a":1,"__proto__":{"x":1},"b":[{"constructor":{"prototype":1}},2]}`, `{"a":1,"b":[{},2]}`},
		{`{"n":{"prototype":true,"keep":"__proto__"}}`, `{"n":{"keep":"__proto__"}}`},
		{`[{"__pro\u0074o__":1,"z":1.50}]`, `[{"z":1.50}]`},
		{`"plain"`, `"plain"`},
	}
	for _, tc := range cases {
		got, err := Sanitize([]byte(tc.in), 32)
		if err != nil || string(got) != tc.want {
			t.Fatalf("Sanitize(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	// Zero copy when nothing is removed.
	in := []byte(`{"a":{"b":[1,2]}}`)
	if got, _ := Sanitize(in, 32); &got[0] != &in[0] {
		t.Fatal("clean input was copied")
	}
	// Deeper than maxDepth is kept.
	if got, _ := Sanitize([]byte(`{"a":{"__proto__":1}}`), 1); string(got) != `{"a":{"__proto__":1}}` {
		t.Fatalf("beyond maxDepth: %s", got)
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add([]byte(`{"__proto__":{"a":1},"b":[{"constructor":2}]}`))
	f.Add([]byte(`[1,"x",{"prototype":null}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		out, err := Sanitize(raw, 32)
		if err != nil {
			t.Fatalf("valid input %q: %v", raw, err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid output %q from %q", out, raw)
		}
		if k, found := ForbiddenKey(out, 32); found {
			t.Fatalf("output %q still has %q", out, k)
		}
	})
}
