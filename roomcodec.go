package live

import (
	"github.com/live-go/live/internal/msgpack"
	"github.com/live-go/live/internal/protocol"
)

// msgpackFromJSON encodes raw JSON as the reference's msgpack subset.
func msgpackFromJSON(dst, raw []byte) ([]byte, error) { return msgpack.AppendJSON(dst, raw) }

// roomFrameTail builds the shared part of a 0x02/0x03 frame.
func roomFrameTail(roomID, event string, payload []byte) ([]byte, error) {
	return protocol.AppendRoomFrameTail(nil, roomID, event, payload)
}

// binaryHead builds a member's head of a room frame: kind, id length, id.
// AppendRoomFrame would build head and tail together; fan-out needs the head
// alone, precomputed per member, in front of a tail shared by all.
func binaryHead(kind byte, id string) []byte {
	h := make([]byte, 0, 2+len(id))
	return append(append(h, kind, byte(len(id))), id...)
}
