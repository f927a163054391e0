package liveredis_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"time"

	live "github.com/live-go/live"
	liveredis "github.com/live-go/live/redis"
	"github.com/redis/go-redis/v9"
)

// Every server process of the application creates its node on the same
// Redis and Prefix and passes it to live.New; Close it after Shutdown.
func Example() {
	cluster, err := liveredis.New(liveredis.Options{Addr: "127.0.0.1:6379", Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := live.New(live.Options{
		StateSecret: []byte("a secret of at least 32 bytes, shared by all nodes"),
		Cluster:     cluster,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Register components here; a Singleton component then has one owner
	// across all processes.
	hs := &http.Server{Addr: ":8080", Handler: srv}
	go func() { _ = hs.ListenAndServe() }()

	// On the way down: the server hands its singletons over, then the node
	// goes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
	_ = srv.Shutdown(ctx)
	_ = cluster.Close()
}

// An existing go-redis client (here a Redis Cluster client) and an error
// hook feeding metrics and logs.
func Example_client() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"redis-1:6379", "redis-2:6379", "redis-3:6379"}})
	defer rdb.Close() // the node does not close a client it was given
	cluster, err := liveredis.New(liveredis.Options{
		Client: rdb,
		Prefix: "myapp:",
		Logger: slog.Default(),
		OnError: func(op string, err error) {
			// e.g. a Prometheus counter labelled by op
			slog.Warn("cluster backend error", "op", op, "err", err)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	cluster.OnReconnect(func() { slog.Info("cluster subscriptions restored") })
	st := cluster.Stats()
	slog.Info("cluster", "published", st.Published, "errors", st.Errors, "reconnects", st.Reconnects)
}
