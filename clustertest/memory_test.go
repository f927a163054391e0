package clustertest_test

import (
	"fmt"
	"testing"

	live "github.com/live-go/live"
	"github.com/live-go/live/clustertest"
)

// memoryNodes returns n nodes of a new in-memory cluster.
func memoryNodes(t *testing.T, n int) []live.Cluster {
	t.Helper()
	mc := live.NewMemoryCluster()
	nodes := make([]live.Cluster, n)
	for i := range nodes {
		nodes[i] = mc.Node(fmt.Sprintf("node-%d", i+1))
		t.Cleanup(func() { _ = nodes[i].Close() })
	}
	return nodes
}

func TestMemoryConformance(t *testing.T) {
	clustertest.Run(t, memoryNodes)
}

func TestMemoryServers(t *testing.T) {
	clustertest.RunServers(t, memoryNodes)
}
