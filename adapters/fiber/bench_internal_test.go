package livefiber

import (
	"bytes"
	"context"
	"testing"

	cws "github.com/coder/websocket"
)

var benchMsg = []byte(`{"type":"STATE_DELTA","componentId":"ab12cd34","payload":{"delta":{"count":42}}}`)

// BenchmarkSocketWrite measures the server side of one outgoing frame.
func BenchmarkSocketWrite(b *testing.B) {
	start := make(chan struct{})
	done := make(chan struct{})
	c := socketPair(b, func(s *socket) {
		defer close(done)
		<-start
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Write(ctx, false, benchMsg); err != nil {
				b.Error(err)
				return
			}
		}
		_ = s.Close(1000, "")
	})
	go func() { // the client drains until the close
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	close(start)
	<-done
}

// BenchmarkSocketRead measures the server side of one incoming frame.
func BenchmarkSocketRead(b *testing.B) {
	start := make(chan struct{})
	done := make(chan struct{})
	c := socketPair(b, func(s *socket) {
		defer close(done)
		<-start
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := s.Read(ctx, 1<<20); err != nil {
				b.Error(err)
				return
			}
		}
		_ = s.CloseNow()
	})
	go func() { // the client writes until the server stops reading
		for {
			if err := c.Write(context.Background(), cws.MessageText, benchMsg); err != nil {
				return
			}
		}
	}()
	close(start)
	<-done
}

// BenchmarkReadBounded measures copying one message into the kept buffer.
func BenchmarkReadBounded(b *testing.B) {
	r := bytes.NewReader(benchMsg)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(benchMsg)
		var err error
		if buf, _, err = readBounded(r, buf[:0], 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
