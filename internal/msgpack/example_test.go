package msgpack_test

import (
	"fmt"

	"github.com/live-go/live/internal/msgpack"
)

func ExampleAppendJSON() {
	// Room data kept as raw JSON: key order is kept, array-index keys go
	// first as in JavaScript, 3.0 is the integer 3.
	payload, err := msgpack.AppendJSON(nil, []byte(`{"text":"hi","2":true,"n":3.0}`))
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", payload)
	js, _ := msgpack.DecodeToJSON(nil, payload)
	fmt.Println(string(js))
	// Output:
	// 83 a1 32 c3 a4 74 65 78 74 a2 68 69 a1 6e 03
	// {"2":true,"text":"hi","n":3}
}

func ExampleAppendMapHeader() {
	// The {subscriberId, count} payload of a $sub:join system event.
	b := msgpack.AppendMapHeader(nil, 2)
	b = msgpack.AppendString(b, "subscriberId")
	b = msgpack.AppendString(b, "AbCdEfGh")
	b = msgpack.AppendString(b, "count")
	b = msgpack.AppendInt(b, 3)
	js, _ := msgpack.DecodeToJSON(nil, b)
	fmt.Println(string(js))
	// Output: {"subscriberId":"AbCdEfGh","count":3}
}
