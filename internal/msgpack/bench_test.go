package msgpack

import (
	"strings"
	"testing"
)

// benchRoomEvent is a typical room event payload (a chat message).
var benchRoomEvent = []byte(`{"from":"AbCdEfGh","text":"hello there","ts":1795773727835,"pos":{"x":12.5,"y":-3},"tags":["a","b"]}`)

func BenchmarkAppendJSONRoomEvent(b *testing.B) {
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRoomEvent)))
	for b.Loop() {
		out, err := AppendJSON(dst[:0], benchRoomEvent)
		if err != nil || len(out) == 0 {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSONLargeState(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"players":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"id":"AbCdEfGh","name":"player ünï","x":123.25,"y":-7,"alive":true,"score":65536}`)
	}
	sb.WriteString(`],"round":3}`)
	raw := []byte(sb.String())
	dst := make([]byte, 0, len(raw))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := AppendJSON(dst[:0], raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendSystemPayload(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out := AppendMapHeader(dst[:0], 2)
		out = AppendString(out, "subscriberId")
		out = AppendString(out, "AbCdEfGh")
		out = AppendString(out, "count")
		out = AppendInt(out, 12)
		if len(out) == 0 {
			b.Fatal("empty")
		}
	}
}

func BenchmarkDecodeRoomEvent(b *testing.B) {
	enc, err := AppendJSON(nil, benchRoomEvent)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
