package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// hx parses hex bytes written with optional spaces.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestAppendComponentDelta(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		payload []byte
		want    []byte
	}{
		{"typical", "AbCdEfGh", []byte{0x01, 0x2a}, hx(t, "01 08 41 62 43 64 45 66 47 68 01 2a")},
		{"empty payload", "c1", nil, hx(t, "01 02 63 31")},
		{"UTF-8 id length in bytes", "é", []byte{0}, hx(t, "01 02 c3 a9 00")},
		{"255-byte id", strings.Repeat("x", 255), []byte{7}, join(hx(t, "01 ff"), bytes.Repeat([]byte("x"), 255), []byte{7})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendComponentDelta([]byte{0xee}, tt.id, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if want := join([]byte{0xee}, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got % x\nwant % x", got, want)
			}
		})
	}
	got, err := AppendComponentDelta([]byte{0xee}, strings.Repeat("x", 256), []byte{1})
	if !errors.Is(err, ErrFrameIDTooLong) || !bytes.Equal(got, []byte{0xee}) {
		t.Fatalf("256-byte id: %x, %v", got, err)
	}
}

func TestParseComponentDelta(t *testing.T) {
	tests := []struct {
		name        string
		frame       string
		id, payload string
		err         error
	}{
		{"typical", "01 08 41 62 43 64 45 66 47 68 01 2a", "AbCdEfGh", "01 2a", nil},
		{"empty id", "01 00 ff", "", "ff", nil},
		{"no payload", "01 01 61", "a", "", nil},
		{"empty", "", "", "", ErrFrameShort},
		{"2 bytes ignored by the client", "01 00", "", "", ErrFrameShort},
		{"room frame", "02 00 00 00 00 00", "", "", ErrFrameType},
		{"id past the end", "01 05 61 62", "", "", ErrFrameTruncated},
		{"id length 255 in a short frame", "01 ff 61", "", "", ErrFrameTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, payload, err := ParseComponentDelta(hx(t, tt.frame))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if string(id) != tt.id || !bytes.Equal(payload, hx(t, tt.payload)) {
				t.Fatalf("got %q, % x", id, payload)
			}
		})
	}
	// The id cannot be extended over the payload by appending to it.
	frame := hx(t, "01 01 61 62")
	id, _, _ := ParseComponentDelta(frame)
	_ = append(id, 'z')
	if frame[3] != 0x62 {
		t.Fatal("appending to the returned id overwrote the payload")
	}
}

func TestAppendRoomFrameTail(t *testing.T) {
	tests := []struct {
		name          string
		room, event   string
		payload, want []byte
	}{
		{"typical", "lobby", "chat", hx(t, "81 a4 74 65 78 74 a2 68 69"),
			hx(t, "05 6c 6f 62 62 79 00 04 63 68 61 74 81 a4 74 65 78 74 a2 68 69")},
		{"state update", "r", EventStateUpdate, hx(t, "80"),
			hx(t, "01 72 00 0d 24 73 74 61 74 65 3a 75 70 64 61 74 65 80")},
		{"empty", "", "", nil, hx(t, "00 00 00")},
		// The event length is big-endian: 256 is 01 00, 0x1234 is 12 34.
		{"event of 256 bytes", "r", strings.Repeat("e", 256), hx(t, "c0"),
			join(hx(t, "01 72 01 00"), bytes.Repeat([]byte("e"), 256), hx(t, "c0"))},
		{"event of 0x1234 bytes", "", strings.Repeat("e", 0x1234), nil,
			join(hx(t, "00 12 34"), bytes.Repeat([]byte("e"), 0x1234))},
		{"event of 65535 bytes", "", strings.Repeat("e", 65535), nil,
			join(hx(t, "00 ff ff"), bytes.Repeat([]byte("e"), 65535))},
		{"room of 255 bytes", strings.Repeat("r", 255), "e", nil,
			join(hx(t, "ff"), bytes.Repeat([]byte("r"), 255), hx(t, "00 01 65"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendRoomFrameTail(nil, tt.room, tt.event, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got % x\nwant % x", head(got), head(tt.want))
			}
		})
	}
	errTests := []struct {
		name        string
		room, event string
		err         error
	}{
		{"room of 256 bytes", strings.Repeat("r", 256), "e", ErrFrameIDTooLong},
		{"room of 128 two-byte runes", strings.Repeat("é", 128), "e", ErrFrameIDTooLong},
		{"event of 65536 bytes", "r", strings.Repeat("e", 65536), ErrFrameEventTooLong},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendRoomFrameTail([]byte{1}, tt.room, tt.event, nil)
			if !errors.Is(err, tt.err) || !bytes.Equal(got, []byte{1}) {
				t.Fatalf("got %x, %v; want %v", head(got), err, tt.err)
			}
		})
	}
}

func head(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func TestAppendRoomFrame(t *testing.T) {
	tail := hx(t, "05 6c 6f 62 62 79 00 04 63 68 61 74 81 a4 74 65 78 74 a2 68 69")
	got, err := AppendRoomFrame(nil, FrameRoomEvent, "AbCdEfGh", tail)
	if err != nil {
		t.Fatal(err)
	}
	want := hx(t, "02 08 41 62 43 64 45 66 47 68 05 6c 6f 62 62 79 00 04 63 68 61 74 81 a4 74 65 78 74 a2 68 69")
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	// One tail, one frame per member: each carries its recipient's id.
	var frames [][]byte
	for _, id := range []string{"m1", "member-2"} {
		f, err := AppendRoomFrame(nil, FrameRoomState, id, tail)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	if !bytes.Equal(frames[0], join(hx(t, "03 02 6d 31"), tail)) ||
		!bytes.Equal(frames[1], join(hx(t, "03 08 6d 65 6d 62 65 72 2d 32"), tail)) {
		t.Fatalf("per-member frames: % x / % x", frames[0], frames[1])
	}

	errTests := []struct {
		name string
		kind byte
		id   string
		tail []byte
		err  error
	}{
		{"component delta kind", FrameComponentDelta, "c", tail, ErrFrameType},
		{"unknown kind", 0x04, "c", tail, ErrFrameType},
		{"id of 256 bytes", FrameRoomEvent, strings.Repeat("c", 256), tail, ErrFrameIDTooLong},
		{"empty tail", FrameRoomEvent, "c", nil, ErrFrameTruncated},
		{"tail without event length", FrameRoomEvent, "c", hx(t, "01 72 00"), ErrFrameTruncated},
		{"tail event past the end", FrameRoomEvent, "c", hx(t, "00 00 05 65"), ErrFrameTruncated},
		{"frame under 6 bytes", FrameRoomEvent, "", hx(t, "00 00 00"), ErrFrameShort},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendRoomFrame([]byte{9}, tt.kind, tt.id, tt.tail)
			if !errors.Is(err, tt.err) || !bytes.Equal(got, []byte{9}) {
				t.Fatalf("got %x, %v; want %v", got, err, tt.err)
			}
		})
	}
}

func TestParseRoomFrame(t *testing.T) {
	tests := []struct {
		name                      string
		frame                     string
		kind                      byte
		comp, room, event, paylod string
		err                       error
	}{
		{"event", "02 08 41 62 43 64 45 66 47 68 05 6c 6f 62 62 79 00 04 63 68 61 74 81 a4 74 65 78 74 a2 68 69",
			FrameRoomEvent, "AbCdEfGh", "lobby", "chat", "81 a4 74 65 78 74 a2 68 69", nil},
		{"state, empty payload", "03 01 63 01 72 00 01 65", FrameRoomState, "c", "r", "e", "", nil},
		{"6 bytes, all empty", "02 00 00 00 00 c0", FrameRoomEvent, "", "", "", "c0", nil},
		{"event length is big-endian", "02 00 00 00 02 65 66 c0", FrameRoomEvent, "", "", "ef", "c0", nil},
		{"5 bytes rejected", "02 00 00 00 00", 0, "", "", "", "", ErrFrameShort},
		{"empty", "", 0, "", "", "", "", ErrFrameShort},
		{"component delta type", "01 00 00 00 00 00", 0, "", "", "", "", ErrFrameType},
		{"type 0x04", "04 00 00 00 00 00", 0, "", "", "", "", ErrFrameType},
		{"component id past the end", "02 09 61 62 63 64 65", 0, "", "", "", "", ErrFrameTruncated},
		{"room id past the end", "02 00 09 61 62 63 64", 0, "", "", "", "", ErrFrameTruncated},
		{"no room for the event length", "02 00 03 61 62 63 00", 0, "", "", "", "", ErrFrameTruncated},
		{"event past the end", "02 00 00 00 05 61 62", 0, "", "", "", "", ErrFrameTruncated},
		// Read as little-endian, 01 00 would be 1 and the frame valid.
		{"little-endian reading would pass", "02 00 00 01 00 61 c0", 0, "", "", "", "", ErrFrameTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseRoomFrame(hx(t, tt.frame))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if f.Kind != tt.kind || string(f.ComponentID) != tt.comp || string(f.RoomID) != tt.room ||
				string(f.Event) != tt.event || !bytes.Equal(f.Payload, hx(t, tt.paylod)) {
				t.Fatalf("got %+v", f)
			}
		})
	}
}

func TestRoomFrameRoundTrip(t *testing.T) {
	for _, tc := range []struct{ comp, room, event string }{
		{"AbCdEfGh", "lobby", "chat"},
		{"", "r", EventSubJoin},
		{strings.Repeat("c", 255), strings.Repeat("r", 255), strings.Repeat("e", 65535)},
		{"é", "ü", "€"},
	} {
		payload := []byte{0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x02}
		tail, err := AppendRoomFrameTail(nil, tc.room, tc.event, payload)
		if err != nil {
			t.Fatal(err)
		}
		frame, err := AppendRoomFrame(nil, FrameRoomState, tc.comp, tail)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ParseRoomFrame(frame)
		if err != nil {
			t.Fatal(err)
		}
		if f.Kind != FrameRoomState || string(f.ComponentID) != tc.comp || string(f.RoomID) != tc.room ||
			string(f.Event) != tc.event || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("round trip of %.20q/%.20q/%.20q gave %.60q", tc.comp, tc.room, tc.event, f.Event)
		}
	}
}

func TestRoomFrameNoAllocs(t *testing.T) {
	payload := hx(t, "82 a4 66 72 6f 6d a8 41 62 43 64 45 66 47 68 a4 74 65 78 74 a2 68 69")
	tailBuf := make([]byte, 0, 128)
	frameBuf := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(100, func() {
		tail, err := AppendRoomFrameTail(tailBuf[:0], "lobby", "chat", payload)
		if err != nil {
			t.Fatal(err)
		}
		frame, err := AppendRoomFrame(frameBuf[:0], FrameRoomEvent, "AbCdEfGh", tail)
		if err != nil {
			t.Fatal(err)
		}
		if f, err := ParseRoomFrame(frame); err != nil || len(f.Payload) != len(payload) {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
}

var chunkHeader = []byte(`{"type":"FILE_UPLOAD_CHUNK","componentId":"c-1","uploadId":"u-1","chunkIndex":0,"totalChunks":1}`)

func TestUploadChunkRoundTrip(t *testing.T) {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	mb := make([]byte, 1<<20)
	for i := range mb {
		mb[i] = byte(i)
	}
	utf8Header := []byte(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"üpløad-€","requestId":"chunk-u-1-0"}`)
	tests := []struct {
		name         string
		header, data []byte
	}{
		{"typical", chunkHeader, []byte{1, 2, 3, 0xfe, 0xff}},
		{"empty data", chunkHeader, nil},
		{"1 MB", chunkHeader, mb},
		{"all byte values", chunkHeader, allBytes},
		{"UTF-8 header", utf8Header, []byte{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := AppendUploadChunk(nil, tt.header, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(frame) != 4+len(tt.header)+len(tt.data) {
				t.Fatalf("frame is %d bytes, want 4+%d+%d", len(frame), len(tt.header), len(tt.data))
			}
			h, d, err := ParseUploadChunk(frame)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(h, tt.header) || !bytes.Equal(d, tt.data) {
				t.Fatalf("round trip changed the chunk")
			}
			var m map[string]any
			if err := json.Unmarshal(h, &m); err != nil || m["type"] != "FILE_UPLOAD_CHUNK" {
				t.Fatalf("header %s: %v", h, err)
			}
		})
	}
}

func TestUploadChunkLayout(t *testing.T) {
	// The header length is u32 little-endian: 0x0102 bytes are 02 01 00 00.
	header := []byte(`{"p":"` + strings.Repeat("x", 0x0102-8) + `"}`)
	frame, err := AppendUploadChunk([]byte{0xee}, header, []byte{0xaa})
	if err != nil {
		t.Fatal(err)
	}
	if want := join(hx(t, "ee 02 01 00 00"), header, hx(t, "aa")); !bytes.Equal(frame, want) {
		t.Fatalf("got % x…", head(frame))
	}
	frame, _ = AppendUploadChunk(nil, []byte(`{}`), []byte{9})
	if want := hx(t, "02 00 00 00 7b 7d 09"); !bytes.Equal(frame, want) {
		t.Fatalf("got % x, want % x", frame, want)
	}
}

func TestParseUploadChunkErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		err   error
	}{
		{"empty", nil, ErrFrameShort},
		{"2 bytes", hx(t, "00 00"), ErrFrameShort},
		{"3 bytes", hx(t, "01 00 00"), ErrFrameShort},
		{"header length 0", hx(t, "00 00 00 00"), ErrUploadChunkHeader},
		{"header length 0 with data", hx(t, "00 00 00 00 7b 7d"), ErrUploadChunkHeader},
		{"header length past the end", join(hx(t, "08 00 00 00"), []byte(`{"a":1}`)), ErrFrameTruncated},
		{"header length 0xFFFFFFFF", join(hx(t, "ff ff ff ff"), []byte(`{"a":1}`)), ErrFrameTruncated},
		{"header length 0x80000000", join(hx(t, "00 00 00 80"), []byte(`{"a":1}`)), ErrFrameTruncated},
		{"big-endian length misread", join(hx(t, "00 00 00 02"), []byte(`{}`)), ErrFrameTruncated},
		{"invalid JSON", join(hx(t, "0f 00 00 00"), []byte(`{not valid json`), []byte{1, 2, 3, 4, 5}), ErrUploadChunkHeader},
		{"JSON array", join(hx(t, "02 00 00 00"), []byte(`[]`)), ErrUploadChunkHeader},
		{"JSON number", join(hx(t, "01 00 00 00"), []byte(`5`)), ErrUploadChunkHeader},
		{"object and garbage", join(hx(t, "03 00 00 00"), []byte(`{}x`)), ErrUploadChunkHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, d, err := ParseUploadChunk(tt.frame)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if h != nil || d != nil {
				t.Fatal("data returned with an error")
			}
		})
	}
	// Surrounding whitespace is valid JSON.
	if h, _, err := ParseUploadChunk(join(hx(t, "04 00 00 00"), []byte(" {} "))); err != nil || string(h) != " {} " {
		t.Fatalf("whitespace header: %q, %v", h, err)
	}
}

// TestParseUploadChunkLyingLengthNoAllocation checks that a huge announced
// header length fails without allocating anything of its size.
func TestParseUploadChunkLyingLengthNoAllocation(t *testing.T) {
	for _, prefix := range []string{"ff ff ff ff", "00 00 00 80"} {
		frame := join(hx(t, prefix), []byte(`{"a":1}`))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 1000 {
			if _, _, err := ParseUploadChunk(frame); err == nil {
				t.Fatal("accepted")
			}
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("%s: 1000 parses allocated %d bytes", prefix, grew)
		}
	}
}
