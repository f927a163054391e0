package live

import (
	"encoding/binary"
	"errors"

	"github.com/live-go/live/internal/msgpack"
)

// msgpackFromJSON encodes raw JSON as the reference's msgpack subset.
func msgpackFromJSON(dst, raw []byte) ([]byte, error) { return msgpack.AppendJSON(dst, raw) }

// roomFrameTail builds the shared part of a 0x02/0x03 frame: u8 room id
// length, room id, u16 big-endian event length, event, payload.
func roomFrameTail(roomID, event string, payload []byte) ([]byte, error) {
	if len(roomID) > 255 || len(event) > 65535 {
		return nil, errors.New("live: room id or event name too long for a binary frame")
	}
	t := make([]byte, 0, 3+len(roomID)+len(event)+len(payload))
	t = append(t, byte(len(roomID)))
	t = append(t, roomID...)
	t = binary.BigEndian.AppendUint16(t, uint16(len(event)))
	t = append(t, event...)
	return append(t, payload...), nil
}
