package protocol_test

import (
	"fmt"

	"github.com/live-go/live/internal/protocol"
)

func ExampleAppendRoomFrame() {
	payload := []byte{0x81, 0xa1, 'n', 0x05} // msgpack {"n":5}
	// The tail is built once per broadcast…
	tail, err := protocol.AppendRoomFrameTail(nil, "lobby", protocol.EventStateUpdate, payload)
	if err != nil {
		panic(err)
	}
	// …and each member's frame carries its own component id.
	buf := make([]byte, 0, 64)
	for _, member := range []string{"c1", "c2"} {
		frame, err := protocol.AppendRoomFrame(buf[:0], protocol.FrameRoomState, member, tail)
		if err != nil {
			panic(err)
		}
		f, _ := protocol.ParseRoomFrame(frame)
		fmt.Printf("%s %s %s % x\n", f.ComponentID, f.RoomID, f.Event, f.Payload)
	}
	// Output:
	// c1 lobby $state:update 81 a1 6e 05
	// c2 lobby $state:update 81 a1 6e 05
}

func ExampleStateCodec() {
	codec, err := protocol.NewStateCodec(
		[]byte(`{"x":0,"y":0,"hp":100,"name":"","inventory":[]}`),
		map[string]protocol.WireType{"x": protocol.WireFloat32, "y": protocol.WireFloat32, "hp": protocol.WireUint8},
	)
	if err != nil {
		panic(err)
	}
	bin, fallback, err := codec.EncodeJSON(nil, []byte(`{"hp":97,"inventory":["sword"]}`))
	if err != nil {
		panic(err)
	}
	frame, _ := protocol.AppendComponentDelta(nil, "AbCdEfGh", bin)
	fmt.Printf("% x\n", frame)
	fmt.Println(string(fallback))
	js, _ := codec.AppendDecodedJSON(nil, bin)
	fmt.Println(string(js))
	// Output:
	// 01 08 41 62 43 64 45 66 47 68 04 61
	// {"inventory":["sword"]}
	// {"hp":97}
}
