package diff_test

import (
	"encoding/json"
	"fmt"

	"github.com/live-go/live/internal/diff"
)

func ExampleObject() {
	old := []byte(`{"user":{"name":"ann","tags":["a"],"draft":true},"count":1}`)
	new := []byte(`{"user":{"name":"ann","tags":["a","b"]},"count":1}`)
	delta, changed, err := diff.Object(nil, old, new, 0, diff.DefaultMaxDepth)
	if err != nil {
		panic(err)
	}
	fmt.Println(changed, string(delta))
	// Output: true {"user":{"tags":["a","b"],"draft":null}}
}

func ExampleMerge() {
	a := []byte(`{"count":5,"user":{"name":"ann"}}`)
	b := []byte(`{"count":6,"user":{"age":30}}`)
	merged, ok, err := diff.Merge(nil, a, b)
	fmt.Println(string(merged), ok, err)

	// b replaces a null with an object: one delta cannot express both.
	_, ok, err = diff.Merge(nil, []byte(`{"user":null}`), []byte(`{"user":{"age":30}}`))
	fmt.Println(ok, err)
	// Output:
	// {"count":6,"user":{"name":"ann","age":30}} true <nil>
	// false <nil>
}

func ExampleApply() {
	var state, delta map[string]any
	_ = json.Unmarshal([]byte(`{"user":{"name":"ann","draft":true},"count":1}`), &state)
	_ = json.Unmarshal([]byte(`{"user":{"draft":null},"count":null}`), &delta)
	out, _ := json.Marshal(diff.Apply(state, delta))
	fmt.Println(string(out))
	// Output: {"count":null,"user":{"name":"ann"}}
}
