package clusterapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
	liveredis "github.com/live-go/live/redis"
)

// ErrNoBackend is returned by Backend.Open when neither Redis nor NATS is
// set.
var ErrNoBackend = errors.New("clusterapp: no cluster backend (set Redis or NATS)")

// MaxPrefix is the longest Backend.Prefix, in bytes.
const MaxPrefix = 48

// Backend selects the cluster backend that a node joins. Set exactly one
// of Redis and NATS; nodes that should act as one use the same backend and
// the same Prefix.
type Backend struct {
	// Redis is the address (host:port) of a Redis server.
	Redis string
	// NATS is the URL of a NATS server with JetStream enabled.
	NATS string
	// Prefix namespaces the backend's keys and subjects, so several
	// clusters can share one server: 1 to MaxPrefix bytes of
	// [A-Za-z0-9_-]. Default: the backend's own default ("live:" for
	// Redis, "live" for NATS).
	Prefix string
}

// String describes the backend ("redis 127.0.0.1:6379", "nats
// nats://127.0.0.1:4222", or "none").
func (b Backend) String() string {
	switch {
	case b.Redis != "":
		return "redis " + b.Redis
	case b.NATS != "":
		return "nats " + b.NATS
	}
	return "none"
}

// validate checks that one backend is set and that Prefix is usable by
// both backends.
func (b Backend) validate() error {
	switch {
	case b.Redis != "" && b.NATS != "":
		return errors.New("clusterapp: set either Redis or NATS, not both")
	case b.Redis == "" && b.NATS == "":
		return ErrNoBackend
	}
	if b.Prefix == "" {
		return nil
	}
	if !validName(b.Prefix, MaxPrefix) {
		return fmt.Errorf("clusterapp: prefix %q: want 1 to %d characters of A-Z a-z 0-9 _ -", b.Prefix, MaxPrefix)
	}
	return nil
}

// Open connects node nodeID to the backend; ctx bounds the connection
// setup. The caller closes the returned Cluster after the node's
// Server.Shutdown (Node.Shutdown does).
func (b Backend) Open(ctx context.Context, nodeID string, log *slog.Logger) (live.Cluster, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if b.Redis != "" {
		prefix := ""
		if b.Prefix != "" {
			prefix = b.Prefix + ":"
		}
		c, err := liveredis.New(liveredis.Options{Addr: b.Redis, Prefix: prefix, NodeID: nodeID, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("clusterapp: redis at %s: %w", b.Redis, err)
		}
		return c, nil
	}
	c, err := livenats.New(ctx, livenats.Options{URL: b.NATS, Prefix: b.Prefix, NodeID: nodeID, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("clusterapp: nats at %s: %w", b.NATS, err)
	}
	return c, nil
}
