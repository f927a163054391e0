package liveredis_test

import (
	"testing"

	"github.com/live-go/live/clustertest"
)

func TestConformance(t *testing.T) {
	clustertest.Run(t, nodesOn(needRedis(t)))
}

func TestServers(t *testing.T) {
	clustertest.RunServers(t, nodesOn(needRedis(t)))
}
