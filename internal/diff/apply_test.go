package diff

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decode unmarshals a JSON object for tests.
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return m
}

func TestApply(t *testing.T) {
	tests := []struct {
		name         string
		state, delta string
		want         string
	}{
		{name: "nil state", state: ``, delta: `{"a":1}`, want: `{"a":1}`},
		{name: "nil state and delta", state: ``, delta: ``, want: `{}`},
		{name: "empty delta", state: `{"a":1}`, delta: `{}`, want: `{"a":1}`},
		{name: "overwrite scalar", state: `{"a":1,"b":2}`, delta: `{"a":3}`, want: `{"a":3,"b":2}`},
		{name: "add key", state: `{"a":1}`, delta: `{"b":"x"}`, want: `{"a":1,"b":"x"}`},
		{name: "depth 0 null stored", state: `{"a":1}`, delta: `{"a":null,"b":null}`, want: `{"a":null,"b":null}`},
		{name: "nested null deletes", state: `{"o":{"a":1,"b":2}}`, delta: `{"o":{"a":null}}`, want: `{"o":{"b":2}}`},
		{name: "nested null on missing key", state: `{"o":{"b":2}}`, delta: `{"o":{"a":null}}`, want: `{"o":{"b":2}}`},
		{name: "deep null deletes", state: `{"o":{"p":{"q":{"a":1,"b":1}}}}`, delta: `{"o":{"p":{"q":{"a":null}}}}`, want: `{"o":{"p":{"q":{"b":1}}}}`},
		{name: "objects merge", state: `{"o":{"a":1,"p":{"x":1}}}`, delta: `{"o":{"b":2,"p":{"y":2}}}`, want: `{"o":{"a":1,"b":2,"p":{"x":1,"y":2}}}`},
		{name: "array replaced whole", state: `{"l":[1,2,3]}`, delta: `{"l":[4]}`, want: `{"l":[4]}`},
		{name: "array replaces object", state: `{"v":{"a":1}}`, delta: `{"v":[1]}`, want: `{"v":[1]}`},
		{name: "object replaces array", state: `{"v":[1]}`, delta: `{"v":{"a":1}}`, want: `{"v":{"a":1}}`},
		{name: "object replaces scalar", state: `{"v":1}`, delta: `{"v":{"a":1}}`, want: `{"v":{"a":1}}`},
		{name: "object replaces null", state: `{"v":null}`, delta: `{"v":{"a":1}}`, want: `{"v":{"a":1}}`},
		{name: "scalar replaces object", state: `{"v":{"a":1}}`, delta: `{"v":"s"}`, want: `{"v":"s"}`},
		{name: "fresh object drops nested nulls", state: `{}`, delta: `{"v":{"a":null,"b":1,"c":{"d":null,"e":2}}}`, want: `{"v":{"b":1,"c":{"e":2}}}`},
		{name: "fresh nested object drops nulls", state: `{"o":{}}`, delta: `{"o":{"v":{"a":null,"b":1}}}`, want: `{"o":{"v":{"b":1}}}`},
		{name: "nulls inside arrays kept", state: `{}`, delta: `{"l":[null,{"a":null}]}`, want: `{"l":[null,{"a":null}]}`},
		{name: "deep merge keeps dropped keys", state: `{"o":{"a":1,"b":2}}`, delta: `{"o":{"a":3}}`, want: `{"o":{"a":3,"b":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Apply(decode(t, tt.state), decode(t, tt.delta))
			if diff := cmp.Diff(decode(t, tt.want), got); diff != "" {
				t.Errorf("Apply mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyInPlaceAndNoAliasing(t *testing.T) {
	state := decode(t, `{"o":{"a":1}}`)
	inner := state["o"].(map[string]any)
	delta := decode(t, `{"o":{"b":2},"n":{"x":{"y":1}}}`)
	got := Apply(state, delta)
	if len(got) != 2 {
		t.Fatalf("Apply = %v", got)
	}
	if inner["b"] != 2.0 {
		t.Errorf("Apply did not merge into the existing nested map: %v", inner)
	}
	// The stored object must be a copy: changing the delta afterwards must
	// not change the state.
	delta["n"].(map[string]any)["x"].(map[string]any)["y"] = 99.0
	delta["n"].(map[string]any)["z"] = 1.0
	if diff := cmp.Diff(decode(t, `{"o":{"a":1,"b":2},"n":{"x":{"y":1}}}`), got); diff != "" {
		t.Errorf("state aliases the delta (-want +got):\n%s", diff)
	}
}
