package livenats_test

import (
	"testing"

	"github.com/live-go/live/clustertest"
)

// The backend conformance suite against a real NATS server.
func TestConformance(t *testing.T) {
	requireNATS(t)
	clustertest.Run(t, natsNodes)
}

// Three live.Servers on three NATS nodes, clients spread over them.
func TestServers(t *testing.T) {
	requireNATS(t)
	clustertest.RunServers(t, natsNodes)
}
