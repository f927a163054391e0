package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Binary frame types, the first byte of a server → client binary frame
// (spec §1.10).
const (
	// FrameComponentDelta is a component's binary state delta:
	// [0x01][u8 idLen][componentId][payload].
	FrameComponentDelta byte = 0x01
	// FrameRoomEvent carries a room event or a room system event
	// ($sub:join, $sub:leave).
	FrameRoomEvent byte = 0x02
	// FrameRoomState carries a room state change (event $state:update).
	FrameRoomState byte = 0x03
)

// Length limits of the binary frames.
const (
	// MaxFrameIDLen is the longest component or room id in a binary frame,
	// in UTF-8 bytes (a u8 length prefix).
	MaxFrameIDLen = 255
	// MaxFrameEventLen is the longest event name in a room frame, in UTF-8
	// bytes (a u16 big-endian length prefix).
	MaxFrameEventLen = 65535
	// MinRoomFrameLen is the shortest room frame a client accepts. The
	// smallest well-formed layout is 5 bytes, but the reference's parser
	// rejects anything under 6.
	MinRoomFrameLen = 6
	// MinComponentDeltaLen is the shortest 0x01 frame the client handles.
	MinComponentDeltaLen = 3
	// UploadChunkPrefixLen is the size of an upload chunk's header length.
	UploadChunkPrefixLen = 4
)

// Errors of the binary frame codecs. Returned errors wrap them with the
// offending length or offset.
var (
	// ErrFrameIDTooLong reports a component or room id over 255 bytes.
	ErrFrameIDTooLong = errors.New("protocol: binary frame id longer than 255 bytes")
	// ErrFrameEventTooLong reports an event name over 65535 bytes.
	ErrFrameEventTooLong = errors.New("protocol: binary frame event longer than 65535 bytes")
	// ErrFrameType reports a binary frame whose type byte is not the one
	// expected.
	ErrFrameType = errors.New("protocol: wrong binary frame type")
	// ErrFrameShort reports a frame under its minimum length.
	ErrFrameShort = errors.New("protocol: binary frame too short")
	// ErrFrameTruncated reports a length field that runs past the frame.
	ErrFrameTruncated = errors.New("protocol: binary frame length runs past the end")
	// ErrUploadChunkHeader reports an upload chunk whose header is not a
	// JSON object.
	ErrUploadChunkHeader = errors.New("protocol: upload chunk header is not a JSON object")
	// ErrUploadChunkTooLarge reports an upload chunk header of 4 GiB or
	// more, which the u32 length cannot describe.
	ErrUploadChunkTooLarge = errors.New("protocol: upload chunk header too large")
)

// AppendComponentDelta appends the 0x01 frame that carries payload, the
// output of the component's binary encoder, to componentID:
//
//	[0x01][u8 len(componentID)][componentID][payload]
//
// An id over 255 bytes fails with ErrFrameIDTooLong and dst is returned
// unchanged. It does not allocate when dst has room.
func AppendComponentDelta(dst []byte, componentID string, payload []byte) ([]byte, error) {
	if len(componentID) > MaxFrameIDLen {
		return dst, fmt.Errorf("%w: componentId is %d bytes", ErrFrameIDTooLong, len(componentID))
	}
	dst = append(dst, FrameComponentDelta, byte(len(componentID)))
	dst = append(dst, componentID...)
	return append(dst, payload...), nil
}

// ParseComponentDelta splits a 0x01 frame into the component id and the
// payload; both alias frame. Frames under 3 bytes (which the official client
// ignores), of another type or whose id runs past the end fail.
func ParseComponentDelta(frame []byte) (componentID, payload []byte, err error) {
	if len(frame) < MinComponentDeltaLen {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrFrameShort, len(frame))
	}
	if frame[0] != FrameComponentDelta {
		return nil, nil, fmt.Errorf("%w: 0x%02x, want 0x01", ErrFrameType, frame[0])
	}
	end := 2 + int(frame[1])
	if end > len(frame) {
		return nil, nil, fmt.Errorf("%w: componentId of %d bytes in a %d-byte frame", ErrFrameTruncated, frame[1], len(frame))
	}
	return frame[2:end:end], frame[end:], nil
}

// AppendRoomFrameTail appends the part of a room frame that is the same for
// every member, built once per broadcast:
//
//	[u8 len(roomID)][roomID][u16 BIG-endian len(event)][event][payload]
//
// payload is the room codec's encoding of the data (see internal/msgpack).
// A room id over 255 bytes or an event over 65535 bytes fails and dst is
// returned unchanged. It does not allocate when dst has room.
func AppendRoomFrameTail(dst []byte, roomID, event string, payload []byte) ([]byte, error) {
	if len(roomID) > MaxFrameIDLen {
		return dst, fmt.Errorf("%w: roomId is %d bytes", ErrFrameIDTooLong, len(roomID))
	}
	if len(event) > MaxFrameEventLen {
		return dst, fmt.Errorf("%w: event is %d bytes", ErrFrameEventTooLong, len(event))
	}
	dst = append(dst, byte(len(roomID)))
	dst = append(dst, roomID...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(event)))
	dst = append(dst, event...)
	return append(dst, payload...), nil
}

// AppendRoomFrame appends one member's room frame: the per-member header
// [kind][u8 len(componentID)][componentID] followed by tail, as built by
// AppendRoomFrameTail. kind must be FrameRoomEvent or FrameRoomState,
// componentID (the recipient's) at most 255 bytes and tail well formed, and
// the frame must reach the 6 bytes clients require; otherwise dst is
// returned unchanged with an error. It does not allocate
// when dst has room.
func AppendRoomFrame(dst []byte, kind byte, componentID string, tail []byte) ([]byte, error) {
	if kind != FrameRoomEvent && kind != FrameRoomState {
		return dst, fmt.Errorf("%w: 0x%02x is not a room frame", ErrFrameType, kind)
	}
	if len(componentID) > MaxFrameIDLen {
		return dst, fmt.Errorf("%w: componentId is %d bytes", ErrFrameIDTooLong, len(componentID))
	}
	if _, _, _, err := splitRoomTail(tail); err != nil {
		return dst, err
	}
	if n := 2 + len(componentID) + len(tail); n < MinRoomFrameLen {
		return dst, fmt.Errorf("%w: %d bytes, clients drop frames under %d", ErrFrameShort, n, MinRoomFrameLen)
	}
	dst = append(dst, kind, byte(len(componentID)))
	dst = append(dst, componentID...)
	return append(dst, tail...), nil
}

// RoomFrame is a parsed 0x02/0x03 frame. Its slices alias the frame.
type RoomFrame struct {
	Kind        byte   // FrameRoomEvent or FrameRoomState
	ComponentID []byte // the recipient component
	RoomID      []byte
	Event       []byte
	Payload     []byte // room codec encoding of the data
}

// ParseRoomFrame parses a binary room frame with the reference parser's
// rules: a frame under 6 bytes, or with a length that runs past the end,
// is rejected. Unlike the reference's parser (whose caller dispatches on
// the type byte first), it also rejects type bytes other than 0x02 and
// 0x03. Ids and event are returned as raw bytes: the reference decodes
// them with TextDecoder, which replaces invalid UTF-8.
func ParseRoomFrame(frame []byte) (RoomFrame, error) {
	if len(frame) < MinRoomFrameLen {
		return RoomFrame{}, fmt.Errorf("%w: %d bytes, need %d", ErrFrameShort, len(frame), MinRoomFrameLen)
	}
	kind := frame[0]
	if kind != FrameRoomEvent && kind != FrameRoomState {
		return RoomFrame{}, fmt.Errorf("%w: 0x%02x is not a room frame", ErrFrameType, kind)
	}
	end := 2 + int(frame[1])
	if end > len(frame) {
		return RoomFrame{}, fmt.Errorf("%w: componentId of %d bytes at offset 2", ErrFrameTruncated, frame[1])
	}
	room, event, payload, err := splitRoomTail(frame[end:])
	if err != nil {
		return RoomFrame{}, err
	}
	return RoomFrame{Kind: kind, ComponentID: frame[2:end:end], RoomID: room, Event: event, Payload: payload}, nil
}

// splitRoomTail splits [u8 roomLen][room][u16 BE eventLen][event][payload].
func splitRoomTail(tail []byte) (room, event, payload []byte, err error) {
	if len(tail) < 1 {
		return nil, nil, nil, fmt.Errorf("%w: no roomId length", ErrFrameTruncated)
	}
	re := 1 + int(tail[0])
	if re+2 > len(tail) {
		return nil, nil, nil, fmt.Errorf("%w: roomId of %d bytes and event length in %d bytes", ErrFrameTruncated, tail[0], len(tail))
	}
	n := int(binary.BigEndian.Uint16(tail[re:]))
	ee := re + 2 + n
	if ee > len(tail) {
		return nil, nil, nil, fmt.Errorf("%w: event of %d bytes in %d bytes", ErrFrameTruncated, n, len(tail)-re-2)
	}
	return tail[1:re:re], tail[re+2 : ee : ee], tail[ee:], nil
}

// AppendUploadChunk appends a client → server upload chunk frame:
//
//	[u32 LITTLE-endian len(header)][header][data]
//
// header is the chunk's JSON header ({"type":"FILE_UPLOAD_CHUNK",
// "componentId",…}); it is copied as is. A header of 4 GiB or more fails
// with ErrUploadChunkTooLarge.
func AppendUploadChunk(dst, header, data []byte) ([]byte, error) {
	if uint64(len(header)) > math.MaxUint32 {
		return dst, fmt.Errorf("%w: %d bytes", ErrUploadChunkTooLarge, len(header))
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(header)))
	dst = append(dst, header...)
	return append(dst, data...), nil
}

// ParseUploadChunk splits an upload chunk frame into its JSON header and
// its data, both aliasing frame. It fails on a frame under 4 bytes and on a
// header length that runs past the end (checked before anything is sliced
// or allocated, so 0xFFFFFFFF fails at once), and with ErrUploadChunkHeader
// when the header is not a JSON object, an empty header included. The data
// may be empty; comparing it with the announced chunk size is the caller's
// business. The reference only slices (a lying length surfaces as a JSON
// error); the result for every frame it accepts is the same.
func ParseUploadChunk(frame []byte) (header, data []byte, err error) {
	if len(frame) < UploadChunkPrefixLen {
		return nil, nil, fmt.Errorf("%w: %d bytes, need %d", ErrFrameShort, len(frame), UploadChunkPrefixLen)
	}
	n := uint64(binary.LittleEndian.Uint32(frame))
	if n > uint64(len(frame)-UploadChunkPrefixLen) {
		return nil, nil, fmt.Errorf("%w: header length %d, %d bytes follow", ErrFrameTruncated, n, len(frame)-UploadChunkPrefixLen)
	}
	end := UploadChunkPrefixLen + int(n)
	header = frame[UploadChunkPrefixLen:end:end]
	s := scanner{data: header}
	v, ok := s.skip(0)
	if ok {
		s.ws()
	}
	if !ok || v.kind != kindObject || s.i != len(header) {
		return nil, nil, fmt.Errorf("%w: %d-byte header", ErrUploadChunkHeader, len(header))
	}
	return header, frame[end:], nil
}
