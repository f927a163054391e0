package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// Acceptance 2: the server is stopped and a new one with the same secret
// starts on the same address; the Go client reconnects by itself, its
// component is rehydrated with its state intact, and accepts actions.
func TestRecoveryServerRestartRehydrates(t *testing.T) {
	a := startRecServer(t, "127.0.0.1:0", live.Options{})
	states := newStateLog()
	c := dialRec(t, a.url(), recClientOptions(nil, states))
	m, err := c.Mount(recCtx(t), "RecCounter", nil)
	must(t, err)
	var recs recoveryLog
	m.OnRecover(recs.record)
	for range 3 {
		if _, err := m.Call(recCtx(t), "bump", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitSignedCount(t, m, 3) // the renewed signature carries the latest state
	oldID := m.ID()

	a.stop(t)
	states.waitCount(t, client.StateReconnecting, 1)
	b := startRecServer(t, a.addr, live.Options{})
	states.waitCount(t, client.StateConnected, 2)

	evs := recs.events()
	if len(evs) != 1 || evs[0].Kind != client.RecoveryRehydrated || evs[0].OldID != oldID ||
		evs[0].NewID == oldID || evs[0].NewID != m.ID() || evs[0].Err != nil {
		t.Fatalf("recovery events %+v, want one rehydration from %s to the handle's new id %s", evs, oldID, m.ID())
	}
	if got := m.State()["count"]; got != 3.0 {
		t.Fatalf("count after rehydration = %v, want 3", got)
	}
	res, err := m.Call(recCtx(t), "bump", nil)
	if err != nil {
		t.Fatalf("Call after rehydration: %v", err)
	}
	if string(res) != `{"count":4}` {
		t.Errorf("bump result %s, want count 4", res)
	}
	if got := m.State()["count"]; got != 4.0 {
		t.Errorf("mirror count = %v, want 4", got)
	}
	if st := b.srv.Stats(); st.Rehydrates != 1 || st.Mounts != 0 {
		t.Errorf("new server stats: rehydrates %d mounts %d, want 1 and 0", st.Rehydrates, st.Mounts)
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v while connected", c.Err())
	}
	want := []client.ConnState{client.StateConnecting, client.StateConnected, client.StateReconnecting, client.StateConnected}
	if diff := cmp.Diff(want, states.snapshot()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// A server restarted with another secret refuses the signed state: the
// client mounts afresh with the original props, on the same handle.
func TestRecoveryRefusedStateFallsBackToMount(t *testing.T) {
	a := startRecServer(t, "127.0.0.1:0", live.Options{})
	states := newStateLog()
	c := dialRec(t, a.url(), recClientOptions(nil, states))
	m, err := c.Mount(recCtx(t), "RecCounter", map[string]any{"count": 10}, client.WithDebugLabel("fallback"))
	must(t, err)
	var recs recoveryLog
	m.OnRecover(recs.record)
	if _, err := m.Call(recCtx(t), "bump", nil); err != nil {
		t.Fatal(err)
	}
	waitSignedCount(t, m, 11)
	oldID := m.ID()

	a.stop(t)
	b := startRecServer(t, a.addr, live.Options{StateSecret: []byte("another-secret-another-secret-0123")})
	states.waitCount(t, client.StateConnected, 2)

	evs := recs.events()
	if len(evs) != 1 || evs[0].Kind != client.RecoveryRemounted || evs[0].OldID != oldID || evs[0].NewID != m.ID() {
		t.Fatalf("recovery events %+v, want one remount", evs)
	}
	var se *client.Error
	if !errors.As(evs[0].Err, &se) || se.Message != "Invalid signature" || se.Type != "COMPONENT_REHYDRATED" {
		t.Errorf("refusal %v, want the server's exact COMPONENT_REHYDRATED error \"Invalid signature\"", evs[0].Err)
	}
	if got := m.State()["count"]; got != 10.0 {
		t.Errorf("count after the fresh mount = %v, want the original prop 10", got)
	}
	if res, err := m.Call(recCtx(t), "bump", nil); err != nil || string(res) != `{"count":11}` {
		t.Errorf("bump after remount = %s, %v", res, err)
	}
	if st := b.srv.Stats(); st.Mounts != 1 || st.Rehydrates != 0 {
		t.Errorf("new server stats: mounts %d rehydrates %d, want 1 and 0", st.Mounts, st.Rehydrates)
	}
}

// Acceptance 3: the connection (not the server) drops while another client
// keeps acting on a shared singleton; reconnecting within the grace period
// resumes the same instance with exactly the missed deltas, in order.
func TestRecoveryResumeReplaysMissedDeltas(t *testing.T) {
	srv := startRecServer(t, "127.0.0.1:0", live.Options{})
	cutter := newNetCutter(t)
	states := newStateLog()
	a := dialRec(t, srv.url(), recClientOptions(cutter, states))
	b := dialRec(t, srv.url(), recClientOptions(nil, nil))

	ma, err := a.Mount(recCtx(t), "RecTally", nil)
	must(t, err)
	id := ma.ID()
	var (
		mu     sync.Mutex
		deltas []deltaSeq // every STATE_DELTA a received for the tally
		copies int        // STATE_UPDATEs a received after mounting
	)
	a.OnMessage(func(msg client.Message) {
		if msg.ComponentID != id {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch msg.Type {
		case "STATE_DELTA":
			var p struct {
				Delta struct {
					Count uint64 `json:"count"`
				} `json:"delta"`
			}
			_ = json.Unmarshal(msg.Payload, &p)
			deltas = append(deltas, deltaSeq{seq: msg.Seq, count: p.Delta.Count})
		case "STATE_UPDATE":
			copies++
		}
	})
	var recs recoveryLog
	ma.OnRecover(recs.record)
	mb, err := b.Mount(recCtx(t), "RecTally", nil)
	must(t, err)
	if mb.ID() != id {
		t.Fatalf("singleton ids differ: %s, %s", id, mb.ID())
	}

	bump := func(n int) {
		t.Helper()
		for range n {
			if _, err := mb.Call(recCtx(t), "bump", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	bump(5)
	waitCount(t, ma, 5)
	before := srv.srv.Stats()

	cutter.cut(true) // a's network is down until allow
	states.waitCount(t, client.StateReconnecting, 1)
	bump(10) // missed by a
	cutter.allow()
	states.waitCount(t, client.StateConnected, 2)
	bump(5)
	waitCount(t, ma, 20)
	waitCount(t, mb, 20)

	if diff := cmp.Diff(mb.State(), ma.State()); diff != "" {
		t.Errorf("a's mirror differs from the server's state (-server +a):\n%s", diff)
	}
	if ma.ID() != id || ma.Seq() != 20 {
		t.Errorf("after resume: id %s seq %d, want %s and 20", ma.ID(), ma.Seq(), id)
	}
	mu.Lock()
	got, gotCopies := append([]deltaSeq(nil), deltas...), copies
	mu.Unlock()
	checkDeltaSeqs(t, got, 5, 20)
	if gotCopies != 0 {
		t.Errorf("a received %d snapshots after mounting, want none", gotCopies)
	}
	evs := recs.events()
	if len(evs) != 1 || evs[0].Kind != client.RecoveryResumed || evs[0].Snapshot || evs[0].NewID != id || evs[0].OldID != id {
		t.Errorf("recovery events %+v, want one resume of %s without snapshot", evs, id)
	}
	after := srv.srv.Stats()
	if after.Resumes != before.Resumes+1 || after.ResumeSnapshots != before.ResumeSnapshots {
		t.Errorf("server resumes %d→%d, snapshots %d→%d: want +1 and unchanged",
			before.Resumes, after.Resumes, before.ResumeSnapshots, after.ResumeSnapshots)
	}
}

// deltaSeq is one received STATE_DELTA of a counter bumped by 1 per delta:
// its seq and the count it carries.
type deltaSeq struct{ seq, count uint64 }

// checkDeltaSeqs checks the deltas a client received for a counter that was
// at cut when the connection dropped and at last in the end: in strictly
// increasing seq order, each delta's count equal to its seq (the server
// merges adjacent deltas of a component into one carrying the last seq, so
// seqs may jump, but a delta never goes back nor disagrees with its seq),
// one of them the first delta after cut, ending at last.
func checkDeltaSeqs(t *testing.T, got []deltaSeq, cut, last uint64) {
	t.Helper()
	var prev uint64
	sawCut := false
	for i, d := range got {
		if d.seq <= prev {
			t.Errorf("delta %d has seq %d after %d: not strictly increasing (%v)", i, d.seq, prev, got)
		}
		if d.count != d.seq {
			t.Errorf("delta %d with seq %d carries count %d", i, d.seq, d.count)
		}
		sawCut = sawCut || d.seq == cut
		prev = d.seq
	}
	if !sawCut || prev != last {
		t.Errorf("deltas %v: want seq %d (the last before the cut) and ending at %d", got, cut, last)
	}
}

// Every outage resumes: the client never reuses a signed state (each is
// single-use), it takes the fresh one the server sends with each resume.
func TestRecoveryRepeatedOutagesResume(t *testing.T) {
	srv := startRecServer(t, "127.0.0.1:0", live.Options{})
	cutter := newNetCutter(t)
	states := newStateLog()
	c := dialRec(t, srv.url(), recClientOptions(cutter, states))
	m, err := c.Mount(recCtx(t), "RecCounter", nil)
	must(t, err)
	var recs recoveryLog
	m.OnRecover(recs.record)
	id := m.ID()
	const outages = 4
	for i := 1; i <= outages; i++ {
		used := m.SignedState()
		cutter.cut(false)
		states.waitCount(t, client.StateConnected, i+1)
		if string(m.SignedState()) == string(used) {
			t.Fatalf("outage %d: the signed state was not renewed by the resume", i)
		}
		res, err := m.Call(recCtx(t), "bump", nil)
		if err != nil {
			t.Fatalf("outage %d: bump: %v", i, err)
		}
		if want := fmt.Sprintf(`{"count":%d}`, i); string(res) != want {
			t.Fatalf("outage %d: bump = %s, want %s", i, res, want)
		}
	}
	for i, ev := range recs.events() {
		if ev.Kind != client.RecoveryResumed || ev.NewID != id {
			t.Errorf("outage %d: recovery %+v, want a resume of %s", i+1, ev, id)
		}
	}
	if n := len(recs.events()); n != outages {
		t.Errorf("%d recovery events, want %d", n, outages)
	}
	if st := srv.srv.Stats(); st.Resumes != outages || st.Rehydrates != 0 || st.Mounts != 1 {
		t.Errorf("server stats resumes %d rehydrates %d mounts %d, want %d, 0, 1", st.Resumes, st.Rehydrates, st.Mounts, outages)
	}
}

// A signed state can be used once: replaying it is refused with the exact
// nonce error, and any other signed state of a rehydrated component is
// refused too.
func TestRecoveryReplayedSignedStateRefused(t *testing.T) {
	srv := startRecServer(t, "127.0.0.1:0", live.Options{})
	c := dialRec(t, srv.url(), recClientOptions(nil, nil))
	m, err := c.Mount(recCtx(t), "RecCounter", nil)
	must(t, err)
	first := m.SignedState()
	if _, err := m.Call(recCtx(t), "bump", nil); err != nil {
		t.Fatal(err)
	}
	waitSignedCount(t, m, 1)
	newest := m.SignedState()
	rehydrate := func(signed json.RawMessage) (client.Message, error) {
		return c.Request(recCtx(t), map[string]any{
			"type":        "COMPONENT_REHYDRATE",
			"componentId": m.ID(),
			"payload":     map[string]any{"component": "RecCounter", "signedState": signed},
		})
	}
	reply, err := rehydrate(newest)
	if err != nil {
		t.Fatalf("first use: %v", err)
	}
	if reply.Type != "COMPONENT_REHYDRATED" {
		t.Fatalf("first use reply %+v", reply)
	}
	for _, tc := range []struct {
		name   string
		signed json.RawMessage
		want   string
	}{
		{"same signed state again", newest, "Nonce already used"},
		{"older signed state of the retired id", first, live.ErrStateRehydrated.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rehydrate(tc.signed)
			var se *client.Error
			if !errors.As(err, &se) || se.Message != tc.want || se.Type != "COMPONENT_REHYDRATED" {
				t.Fatalf("error %v, want COMPONENT_REHYDRATED %q", err, tc.want)
			}
		})
	}
	if st := srv.srv.Stats(); st.Rehydrates != 1 {
		t.Errorf("rehydrates = %d, want 1", st.Rehydrates)
	}
}

// Close code 4003 (origin refused) stops reconnection for good.
func TestRecoveryNoReconnectAfter4003(t *testing.T) {
	a := startRecServer(t, "127.0.0.1:0", live.Options{AllowedOrigins: []string{"https://app.example"}})
	cutter := newNetCutter(t)
	states := newStateLog()
	opts := recClientOptions(cutter, states)
	opts.Header = map[string][]string{"Origin": {"https://app.example"}}
	opts.Reconnect.InitialDelay = 1
	opts.Reconnect.MaxDelay = 1
	c := dialRec(t, a.url(), opts)
	a.stop(t)
	startRecServer(t, a.addr, live.Options{AllowedOrigins: []string{"https://other.example"}})
	select {
	case <-c.Done():
	case <-recCtx(t).Done():
		t.Fatalf("client still running after 4003 (states %v)", states.snapshot())
	}
	if got := websocket.CloseStatus(c.Err()); got != 4003 || !errors.Is(c.Err(), client.ErrClosed) {
		t.Fatalf("Err() = %v (status %d), want ErrClosed with 4003", c.Err(), got)
	}
	// Done closes as the supervisor stops: no dial can follow.
	dials := cutter.dialCount()
	states.waitCount(t, client.StateClosed, 1)
	if got := cutter.dialCount(); got != dials {
		t.Errorf("dialed %d more times after 4003", got-dials)
	}
	if c.State() != client.StateClosed {
		t.Errorf("State() = %v, want closed", c.State())
	}
	want := []client.ConnState{client.StateConnecting, client.StateConnected, client.StateReconnecting, client.StateClosed}
	if diff := cmp.Diff(want, states.snapshot()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// A closed tab's component lives for the grace counted from its latest
// detach: the expiry scheduled by an earlier detach, which a resume
// cancelled, must not destroy it after it detached again.
func TestGraceCountsFromLatestDetach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRecoveryServer(t, live.Options{ResumeGrace: 10 * time.Second})
		components := func() int { synctest.Wait(); return srv.Stats().Components }

		sock, done := serveMem(t, srv)
		msgs := memExchange(t, sock, `{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"m"}`)
		reply := findMsg(t, msgs, "MESSAGE_RESPONSE")
		id := reply["result"].(map[string]any)["componentId"].(string)
		signed := signedOf(t, reply)
		_ = sock.Close(1000, "")
		<-done // detached at t=0: expiry due at t=10s
		time.Sleep(5 * time.Second)
		if n := components(); n != 1 {
			t.Fatalf("%d components inside the grace, want 1", n)
		}

		sock, done = serveMem(t, srv)
		b, _ := json.Marshal(rehydrateMsg(id, "Counter", signed, map[string]any{"seq": 0}))
		if r := findMsg(t, memExchange(t, sock, string(b)), "COMPONENT_REHYDRATED"); r["success"] != true {
			t.Fatalf("resume: %v", r)
		}
		time.Sleep(time.Second)
		_ = sock.Close(1000, "")
		<-done // detached again at t=6s: expiry due at t=16s

		time.Sleep(5 * time.Second) // t=11s: the first expiry is stale
		if n := components(); n != 1 {
			t.Fatalf("%d components at t=11s, want 1: the cancelled expiry destroyed the resumed component", n)
		}
		time.Sleep(6 * time.Second) // t=17s
		if n := components(); n != 0 {
			t.Fatalf("%d components after the second grace, want 0", n)
		}
		_ = srv.Shutdown(context.Background())
	})
}

// Past Options.MaxDetached the component kept longest is destroyed early;
// its client still gets its state back from the signed state, the others
// resume their kept instance.
func TestMaxDetachedEvictsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRecoveryServer(t, live.Options{ResumeGrace: time.Hour, MaxDetached: 2})
		ids := make([]string, 3)
		signed := make([]map[string]any, 3)
		for i := range ids {
			sock, done := serveMem(t, srv)
			msgs := memExchange(t, sock, `{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"m"}`)
			reply := findMsg(t, msgs, "MESSAGE_RESPONSE")
			ids[i] = reply["result"].(map[string]any)["componentId"].(string)
			signed[i] = signedOf(t, reply)
			_ = sock.Close(1000, "")
			<-done
			time.Sleep(time.Second)
		}
		synctest.Wait()
		if st := srv.Stats(); st.Components != 2 || st.Detached != 2 || st.DetachedEvicted != 1 {
			t.Fatalf("components %d, detached %d, evicted %d: want 2, 2, 1", st.Components, st.Detached, st.DetachedEvicted)
		}

		sock, done := serveMem(t, srv)
		rehydrate := func(i int) map[string]any {
			b, _ := json.Marshal(rehydrateMsg(ids[i], "Counter", signed[i], map[string]any{"seq": 0}))
			return findMsg(t, memExchange(t, sock, string(b)), "COMPONENT_REHYDRATED")
		}
		if r := rehydrate(1); r["success"] != true || r["result"].(map[string]any)["newComponentId"] != ids[1] {
			t.Fatalf("kept component: %v, want a resume of %s", r, ids[1])
		}
		if r := rehydrate(0); r["success"] != true || r["result"].(map[string]any)["newComponentId"] == ids[0] {
			t.Fatalf("evicted component: %v, want a fresh instance from its signed state", r)
		}
		if st := srv.Stats(); st.Components != 3 || st.Detached != 1 || st.Resumes+st.ResumeSnapshots != 1 || st.Rehydrates != 1 {
			t.Fatalf("after the clients came back: %+v", st)
		}
		_ = sock.Close(1000, "")
		<-done
		_ = srv.Shutdown(context.Background())
	})
}
