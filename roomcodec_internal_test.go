package live

import (
	"bytes"
	"testing"
)

// Golden vector written out by hand from spec §1.10.2: one member head plus
// the shared tail, msgpack payload {"x":1,"name":"ana"}.
func TestRoomFrameGoldenBytes(t *testing.T) {
	payload, err := msgpackFromJSON(nil, []byte(`{"x":1,"name":"ana"}`))
	if err != nil {
		t.Fatal(err)
	}
	tail, err := roomFrameTail("game:1", "move", payload)
	if err != nil {
		t.Fatal(err)
	}
	got := append(binaryHead(0x02, "AbCdEfGh"), tail...)
	want := []byte{
		0x02,                                         // room event
		0x08, 'A', 'b', 'C', 'd', 'E', 'f', 'G', 'h', // recipient component id
		0x06, 'g', 'a', 'm', 'e', ':', '1', // room id
		0x00, 0x04, 'm', 'o', 'v', 'e', // event length, big-endian
		0x82,            // fixmap, 2 entries, in JSON key order
		0xa1, 'x', 0x01, // "x": 1
		0xa4, 'n', 'a', 'm', 'e', 0xa3, 'a', 'n', 'a', // "name": "ana"
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("frame\n got % x\nwant % x", got, want)
	}
	// A 300-byte event name needs the second length byte.
	tail, _ = roomFrameTail("r", string(bytes.Repeat([]byte("e"), 300)), nil)
	if tail[2] != 0x01 || tail[3] != 0x2c {
		t.Fatalf("event length bytes % x, want 01 2c (300, big-endian)", tail[2:4])
	}
	if _, err := roomFrameTail(string(bytes.Repeat([]byte("r"), 256)), "e", nil); err == nil {
		t.Fatal("a 256-byte room id was accepted")
	}
}
