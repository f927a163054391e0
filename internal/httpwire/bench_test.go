package httpwire

import (
	"bytes"
	"testing"
)

var benchFrame = []byte(`{"type":"STATE_DELTA","componentId":"AbCdEfGh","payload":{"delta":{"count":42,"lastAction":"increment"}},"timestamp":1795773727835}`)

func BenchmarkAppendEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFrame)))
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendEvent(buf[:0], EventMessage, benchFrame)
	}
}

func BenchmarkAppendTextFrame(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFrame)))
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = AppendTextFrame(buf[:0], benchFrame)
	}
}

func BenchmarkDecoder(b *testing.B) {
	var stream []byte
	for range 100 {
		stream = AppendEvent(stream, EventMessage, benchFrame)
		stream = append(stream, Ping...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	r := bytes.NewReader(stream)
	for b.Loop() {
		r.Reset(stream)
		d := NewDecoder(r, 1<<20)
		for range 100 {
			if _, err := d.Next(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkParsePollBody(b *testing.B) {
	var items []byte
	for i := range 20 {
		if i > 0 {
			items = append(items, ',')
		}
		items = AppendTextFrame(items, benchFrame)
	}
	body := AppendPollBody(nil, items, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParsePollBody(body); err != nil {
			b.Fatal(err)
		}
	}
}
