package clusterapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// The counter's action itself, with a client id and sequence number.
func BenchmarkSharedCounterBump(b *testing.B) {
	c := &SharedCounter{Last: map[string]int{}}
	seq := 0
	b.ReportAllocs()
	for b.Loop() {
		seq++
		if _, err := c.Bump(nil, BumpArgs{Client: "bench", Seq: seq}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCleanText(b *testing.B) {
	s := "  a chat message of ordinary length, with some ünïcödé  "
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cleanText(s, MaxChatText); err != nil {
			b.Fatal(err)
		}
	}
}

// Choosing the history slot of a message in a full lobby.
func BenchmarkPickSlot(b *testing.B) {
	st := map[string]ChatLine{}
	for i := range ChatHistory {
		st[slotName(i)] = ChatLine{ID: messageID(time.UnixMilli(int64(i))), From: "someone", Text: "a message of ordinary length"}
	}
	state, _ := json.Marshal(st)
	b.ReportAllocs()
	for b.Loop() {
		if pickSlot(state) == "" {
			b.Fatal("no slot")
		}
	}
}

// A bump through each node of a two-node in-memory cluster, over real
// WebSockets: on the owner, and on the other node, which forwards it to
// the owner and waits for the owner's delta.
func BenchmarkBumpRoundTrip(b *testing.B) {
	for _, via := range []string{"owner", "proxy"} {
		b.Run(via, func(b *testing.B) {
			nodes := startBenchNodes(b)
			c := nodes[0]
			if via == "proxy" {
				c = nodes[1]
			}
			ctx := context.Background()
			owner, err := nodes[0].Mount(ctx, SharedCounterName, nil)
			if err != nil {
				b.Fatal(err)
			}
			_ = owner
			m, err := c.Mount(ctx, SharedCounterName, nil)
			if err != nil {
				b.Fatal(err)
			}
			seq := 0
			b.ReportAllocs()
			for b.Loop() {
				seq++
				if _, err := m.Call(ctx, "bump", BumpArgs{Client: "bench", Seq: seq}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// startBenchNodes starts two live servers on one MemoryCluster, without
// rate limits, and returns a client of each.
func startBenchNodes(b *testing.B) []*client.Client {
	b.Helper()
	mc := live.NewMemoryCluster()
	var out []*client.Client
	for _, id := range []string{"a", "b"} {
		srv, err := live.New(live.Options{StateSecret: testSecret, Cluster: mc.Node(id), RateLimitBurst: -1})
		if err != nil {
			b.Fatal(err)
		}
		if err := Register(srv); err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			hs.Close()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", &client.Options{Reconnect: client.ReconnectOptions{Disabled: true}})
		cancel()
		if err != nil {
			b.Fatal(fmt.Errorf("node %s: %w", id, err))
		}
		b.Cleanup(func() { _ = c.Close() })
		out = append(out, c)
	}
	return out
}
