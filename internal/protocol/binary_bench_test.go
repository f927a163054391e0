package protocol

import "testing"

// benchPayload is a small msgpack room event: {"from":"AbCdEfGh","text":"hi"}.
var benchPayload = []byte{0x82, 0xa4, 'f', 'r', 'o', 'm', 0xa8, 'A', 'b', 'C', 'd', 'E', 'f', 'G', 'h', 0xa4, 't', 'e', 'x', 't', 0xa2, 'h', 'i'}

func BenchmarkRoomFrameOneMember(b *testing.B) {
	tailBuf := make([]byte, 0, 128)
	frameBuf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		tail, err := AppendRoomFrameTail(tailBuf[:0], "lobby", "chat", benchPayload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := AppendRoomFrame(frameBuf[:0], FrameRoomEvent, "AbCdEfGh", tail); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoomFramePerMember(b *testing.B) {
	tail, err := AppendRoomFrameTail(nil, "lobby", "chat", benchPayload)
	if err != nil {
		b.Fatal(err)
	}
	frameBuf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendRoomFrame(frameBuf[:0], FrameRoomEvent, "AbCdEfGh", tail); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRoomFrame(b *testing.B) {
	tail, _ := AppendRoomFrameTail(nil, "lobby", "chat", benchPayload)
	frame, _ := AppendRoomFrame(nil, FrameRoomEvent, "AbCdEfGh", tail)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRoomFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseUploadChunk(b *testing.B) {
	frame, _ := AppendUploadChunk(nil, []byte(`{"type":"FILE_UPLOAD_CHUNK","componentId":"AbCdEfGh","uploadId":"u1","chunkIndex":3,"totalChunks":10,"requestId":"chunk-u1-3"}`), make([]byte, 64<<10))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseUploadChunk(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStateCodecEncodeJSON(b *testing.B) {
	c, err := NewStateCodec([]byte(`{"x":0,"y":0,"hp":100,"name":"","alive":true,"inventory":[]}`),
		map[string]WireType{"x": WireFloat32, "y": WireFloat32, "hp": WireUint8})
	if err != nil {
		b.Fatal(err)
	}
	delta := []byte(`{"x":12.5,"y":-3.25,"hp":97}`)
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if bin, _, err := c.EncodeJSON(dst[:0], delta); err != nil || bin == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkComponentDelta(b *testing.B) {
	payload := []byte{0x07, 0, 0, 0x48, 0x41, 0, 0, 0x50, 0xc0, 97}
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendComponentDelta(dst[:0], "AbCdEfGh", payload); err != nil {
			b.Fatal(err)
		}
	}
}
