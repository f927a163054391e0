package liveredis_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/live-go/live/client"
)

// After Redis lost its data the owner node starts a new incarnation of the
// singleton (new component id, seq from 0, fencing tokens from the start).
// A proxy node must notice the new id and drop its stale instance, so that
// its clients mount again instead of seeing stale state, and both nodes
// serve the singleton under one id. (This was a core bug: the proxy kept
// its old instance, dropping the new owner's messages as a deposed owner's.)
func TestProxyAfterDataLoss(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	sc := startOutageScenario(t, ctx)
	for range 5 {
		_, err := sc.ca.Call(ctx, "bump", nil)
		mustOK(t, err)
	}
	mustOK(t, sc.cb.WaitFor(ctx, func(s map[string]any) bool { return s["count"] == float64(6) }))
	lost := make(chan struct{}, 1)
	sc.cla.OnMessage(func(m client.Message) {
		if m.Type == "ERROR" && strings.Contains(string(m.Payload), "OWNERSHIP_LOST") {
			select {
			case lost <- struct{}{}:
			default:
			}
		}
	})
	sc.rp.kill()
	sc.restart(t)
	// Node a finds its lease gone and drops its instance; node b finds no
	// mirrored state to take over with.
	select {
	case <-lost:
	case <-ctx.Done():
		t.Fatal("the owner's client was not told that the ownership was lost")
	}
	ca := remountCounter(t, ctx, sc.a)
	raw, err := ca.Call(ctx, "bump", nil)
	mustOK(t, err)
	var n float64
	mustOK(t, json.Unmarshal(raw, &n))
	fresh, err := sc.b.dial(t).Mount(ctx, "Counter", nil)
	mustOK(t, err)
	if fresh.ID() != ca.ID() {
		t.Errorf("node a serves the singleton as %s, node b as %s", ca.ID(), fresh.ID())
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := sc.cb.WaitFor(wctx, func(s map[string]any) bool { return s["count"] == n }); err != nil {
		if _, err := sc.cb.Call(ctx, "bump", nil); err == nil {
			t.Errorf("the client on the proxy node is stuck at %v (the owner is at count %v) and its actions still succeed", sc.cb.State(), n)
		}
	}
}

// Room membership that changed while Redis was down is never exchanged
// again: the nodes announce members only when a room's subscription is
// created, so a member that joined on node b during the outage stays
// unknown to node a.
func TestRoomMembershipAfterOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Second)
	defer cancel()
	sc := startOutageScenario(t, ctx)
	sc.rp.kill()
	late, err := sc.b.dial(t).Mount(ctx, "Member", nil)
	mustOK(t, err)
	before := sc.b.srv.Stats().ClusterErrors
	_, err = late.Call(ctx, "enter", sayArgs{Room: outageRoom})
	mustOK(t, err)
	// The join's announcement failed.
	poll(t, "the join announcement to fail", 10*time.Second, func() bool { return sc.b.srv.Stats().ClusterErrors > before })
	sc.restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for len(sc.a.srv.RoomMembers(outageRoom)) != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("node a sees %d room members after the outage, node b %d", len(sc.a.srv.RoomMembers(outageRoom)), len(sc.b.srv.RoomMembers(outageRoom)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
