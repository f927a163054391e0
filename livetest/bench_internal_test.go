package livetest

import "testing"

// BenchmarkParseFrame measures recording one batched text frame (a delta and
// a reply), what every action costs the kit.
func BenchmarkParseFrame(b *testing.B) {
	frame := []byte(`[{"type":"STATE_DELTA","componentId":"kV5L_NF_","payload":{"delta":{"count":1}},"seq":1},` +
		`{"type":"ACTION_RESPONSE","componentId":"kV5L_NF_","success":true,"requestId":"lt-2"}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if len(parseFrame(false, frame)) != 2 {
			b.Fatal("wrong count")
		}
	}
}
