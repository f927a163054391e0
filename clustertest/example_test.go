package clustertest_test

import (
	"fmt"
	"testing"

	live "github.com/live-go/live"
	"github.com/live-go/live/clustertest"
)

// A backend's test runs the suite with a constructor of fresh nodes. Here
// the backend is the in-memory reference; a networked backend gives every
// call its own random key and subject prefix and closes its nodes at
// cleanup.
func Example() {
	newNodes := func(t *testing.T, n int) []live.Cluster {
		mc := live.NewMemoryCluster() // one fresh cluster per call
		nodes := make([]live.Cluster, n)
		for i := range nodes {
			nodes[i] = mc.Node(fmt.Sprint("node-", i))
			t.Cleanup(func() { _ = nodes[i].Close() })
		}
		return nodes
	}
	// In a real test file:
	//
	//	func TestConformance(t *testing.T) { clustertest.Run(t, newNodes) }
	//	func TestServers(t *testing.T)     { clustertest.RunServers(t, newNodes) }
	_ = clustertest.Run
	_ = newNodes
	fmt.Println("ok")
	// Output: ok
}
