package livenats_test

import (
	"context"
	"log"
	"time"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
)

// A live.Server joined to a NATS cluster. Every node runs the same code
// with its own NodeID (or the random default).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := livenats.New(ctx, livenats.Options{
		URL:    "nats://127.0.0.1:4222",
		Prefix: "myapp",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // after the server's Shutdown
	srv, err := live.New(live.Options{
		Cluster:     c,
		StateSecret: []byte("a secret of at least 32 bytes!!!"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	// http.ListenAndServe(":8080", srv)
}
