package livetest_test

import (
	"testing"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

// BenchmarkCall measures one action round trip through the kit: send,
// engine, delta and reply recorded, state mirror updated.
func BenchmarkCall(b *testing.B) {
	s := livetest.NewServer(b, live.Options{}, registerCounter)
	c := s.Connect().Mount("Counter", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Call("increment", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMount measures a connection with one mounted component.
func BenchmarkMount(b *testing.B) {
	s := livetest.NewServer(b, live.Options{}, registerCounter)
	b.ReportAllocs()
	for b.Loop() {
		conn := s.Connect()
		conn.Mount("Counter", nil)
		conn.Close()
	}
}
