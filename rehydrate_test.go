package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	live "github.com/live-go/live"
)

// mountSigned mounts Counter on rc, increments it n times and returns the
// component id and the newest signed state seen (renewals included).
func rehydrateMsg(oldID, component string, signed map[string]any, extra map[string]any) map[string]any {
	payload := map[string]any{"component": component, "signedState": signed}
	for k, v := range extra {
		payload[k] = v
	}
	return map[string]any{"type": "COMPONENT_REHYDRATE", "componentId": oldID, "payload": payload, "requestId": "rh"}
}

func signedOf(t *testing.T, reply map[string]any) map[string]any {
	t.Helper()
	return reply["result"].(map[string]any)["signedState"].(map[string]any)
}

func cloneMap(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func TestRehydrateRestoresStateWithNewID(t *testing.T) {
	_, hs := newTestServer(t, live.Options{ResumeGrace: -1})
	a := dialRaw(t, hs, nil)
	id, reply := a.mount("Counter", nil)
	signed := signedOf(t, reply)
	// Change state after signing: the signature carries the mount state.
	a.call(id, "add", map[string]any{"n": 5}, true, "x")
	a.expect("STATE_DELTA")
	a.expect("ACTION_RESPONSE")

	b := dialRaw(t, hs, nil)
	b.send(rehydrateMsg(id, "Counter", signed, nil))
	sr := b.expect("STATE_REHYDRATED")
	p := sr["payload"].(map[string]any)
	newID := sr["componentId"].(string)
	if newID == id || p["oldComponentId"] != id || p["newComponentId"] != newID {
		t.Fatalf("STATE_REHYDRATED ids: %v", sr)
	}
	if st := p["state"].(map[string]any); st["count"] != float64(0) {
		t.Fatalf("rehydrated state %v, want the signed count 0", st)
	}
	if v := p["signedState"].(map[string]any)["version"]; v != float64(2) {
		t.Fatalf("rehydrated signature version %v, want old+1 = 2", v)
	}
	r := b.expect("COMPONENT_REHYDRATED")
	if r["componentId"] != id || r["success"] != true || r["requestId"] != "rh" ||
		r["result"].(map[string]any)["newComponentId"] != newID {
		t.Fatalf("COMPONENT_REHYDRATED: %v", r)
	}
	// The new instance works for b, and a's original was retired.
	b.call(newID, "increment", map[string]any{}, true, "i")
	if d := b.expect("STATE_DELTA"); d["payload"].(map[string]any)["delta"].(map[string]any)["count"] != float64(1) {
		t.Fatalf("delta after rehydrate: %v", d)
	}
	b.expect("ACTION_RESPONSE")
	a.call(id, "increment", map[string]any{}, true, "old")
	if r := a.expect("ACTION_RESPONSE"); r["error"] != "COMPONENT_REHYDRATION_REQUIRED:"+id {
		t.Fatalf("retired instance still callable: %v", r)
	}
}

func TestRehydrateRejections(t *testing.T) {
	_, hs := newTestServer(t, live.Options{ResumeGrace: -1})
	a := dialRaw(t, hs, nil)
	id, reply := a.mount("Counter", nil)
	good := signedOf(t, reply)

	tamper := func(field string, v any) map[string]any {
		s := cloneMap(good)
		s[field] = v
		return s
	}
	cases := []struct {
		name      string
		component string
		signed    map[string]any
		want      string
	}{
		{"tampered data", "Counter", tamper("data", strings.Replace(good["data"].(string), `"count":0`, `"count":999`, 1)), "Invalid signature"},
		{"tampered version", "Counter", tamper("version", good["version"].(float64)+1), "Invalid signature"},
		{"tampered timestamp", "Counter", tamper("timestamp", good["timestamp"].(float64)-1), "Invalid signature"},
		{"tampered componentId", "Counter", tamper("componentId", "AAAAAAAA"), "Invalid signature"},
		{"tampered signature", "Counter", tamper("signature", strings.Repeat("0", 64)), "Invalid signature"},
		{"tampered nonce", "Counter", tamper("nonce", "1:2:3"), "Invalid signature"},
		{"expired", "Counter", tamper("timestamp", float64(time.Now().Add(-31*time.Minute).UnixMilli())), "State expired"},
		{"other component name", "Profile", good, "Component class mismatch - state tampering detected"},
		{"unknown component", "Nope", good, "Component 'Nope' not found"},
	}
	b := dialRaw(t, hs, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.send(rehydrateMsg(id, tc.component, tc.signed, nil))
			r := b.expect("COMPONENT_REHYDRATED")
			if r["success"] != false || r["error"] != tc.want || r["componentId"] != id {
				t.Fatalf("got %v, want error %q", r, tc.want)
			}
		})
	}
	// A malformed shape is refused by validation.
	b.send(rehydrateMsg(id, "Counter", map[string]any{"data": 1}, nil))
	if r := b.expect("ERROR"); r["error"] != "Invalid message: payload.signedState is malformed" {
		t.Fatalf("malformed: %v", r)
	}
	// None of the refusals consumed the good state.
	b.send(rehydrateMsg(id, "Counter", good, nil))
	b.expect("STATE_REHYDRATED")
	if r := b.expect("COMPONENT_REHYDRATED"); r["success"] != true {
		t.Fatalf("good state after refusals: %v", r)
	}
}

// A signed state can be rehydrated once, and no other signed state of the
// same instance can clone it afterwards.
func TestRehydrateReplayRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRecoveryServer(t, live.Options{ResumeGrace: -1, SignatureRenewInterval: time.Second})
		sock, done := serveMem(t, srv)
		msgs := memExchange(t, sock, `{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"m"}`)
		reply := findMsg(t, msgs, "MESSAGE_RESPONSE")
		id := reply["result"].(map[string]any)["componentId"].(string)
		first := signedOf(t, reply)
		// Change state; after the renewal interval a newer signature arrives.
		memExchange(t, sock, fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"increment","payload":{},"requestId":"i","expectResponse":true}`, id))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		renewed := findMsg(t, drain(t, sock), "STATE_SIGNATURE")["payload"].(map[string]any)["signedState"].(map[string]any)
		if renewed["version"] != float64(2) {
			t.Fatalf("renewed version %v, want 2", renewed["version"])
		}

		rh := func(signed map[string]any) map[string]any {
			b, _ := json.Marshal(rehydrateMsg(id, "Counter", signed, nil))
			return findMsg(t, memExchange(t, sock, string(b)), "COMPONENT_REHYDRATED")
		}
		if r := rh(renewed); r["success"] != true {
			t.Fatalf("first rehydrate: %v", r)
		}
		if r := rh(renewed); r["error"] != "Nonce already used" {
			t.Fatalf("replay of the same state: %v", r)
		}
		if r := rh(first); r["error"] != "State already rehydrated" {
			t.Fatalf("older state of a retired instance: %v", r)
		}
		if n := srv.Stats().Components; n != 1 {
			t.Fatalf("%d components, want exactly 1 (no clones)", n)
		}
		_ = srv.Shutdown(context.Background())
		<-done
	})
}

// Renewal is throttled: a burst of changes yields at most ~2 signatures,
// an idle component none.
func TestSignatureRenewalThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRecoveryServer(t, live.Options{SignatureRenewInterval: time.Second})
		sock, done := serveMem(t, srv)
		msgs := memExchange(t, sock, `{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"m"}`)
		id := findMsg(t, msgs, "MESSAGE_RESPONSE")["result"].(map[string]any)["componentId"].(string)
		for i := range 20 {
			memExchange(t, sock, fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"increment","payload":{},"requestId":"%d","expectResponse":true}`, id, i))
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		var versions []float64
		for _, m := range drain(t, sock) {
			if m["type"] == "STATE_SIGNATURE" {
				versions = append(versions, m["payload"].(map[string]any)["signedState"].(map[string]any)["version"].(float64))
			}
		}
		if len(versions) != 1 || versions[0] != 2 {
			t.Fatalf("signatures after a burst within one interval: versions %v, want exactly [2]", versions)
		}
		time.Sleep(time.Hour) // idle: no more signatures
		synctest.Wait()
		if n := len(drain(t, sock)); n != 0 {
			t.Fatalf("%d messages while idle", n)
		}
		_ = srv.Shutdown(context.Background())
		<-done
	})
}

func TestResumeReplaysMissedDeltas(t *testing.T) {
	srv, hs := newTestServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	id, reply := a.mount("Counter", nil)
	signed := signedOf(t, reply)
	a.c.CloseNow() // drop the connection; the instance stays in its grace period
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Connections != 0 {
		if time.Now().After(deadline) {
			t.Fatal("connection not torn down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if srv.Stats().Components != 1 {
		t.Fatal("instance not kept for the grace period")
	}
	b := dialRaw(t, hs, nil)
	b.send(rehydrateMsg(id, "Counter", signed, map[string]any{"seq": 0}))
	b.expect("STATE_SIGNATURE") // fresh signature for the next resume
	r := b.expect("COMPONENT_REHYDRATED")
	if r["success"] != true || r["result"].(map[string]any)["newComponentId"] != id {
		t.Fatalf("resume reply: %v", r)
	}
	b.call(id, "increment", map[string]any{}, true, "i")
	d := b.expect("STATE_DELTA")
	if d["seq"] != float64(1) {
		t.Fatalf("seq after resume %v, want 1", d["seq"])
	}
	b.expect("ACTION_RESPONSE")
	if st := srv.Stats(); st.Resumes != 1 || st.ResumeSnapshots != 0 || st.Components != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestIdempotentActionRunsOnce(t *testing.T) {
	_, hs := newTestServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	id, _ := a.mount("Counter", nil)
	call := func(key, req string) map[string]any {
		a.send(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "increment", "payload": map[string]any{},
			"requestId": req, "expectResponse": true, "idempotencyKey": key})
		for {
			if m := a.next(); m["type"] == "ACTION_RESPONSE" {
				return m
			}
		}
	}
	first := call("k1", "r1")
	again := call("k1", "r2")
	if fmt.Sprint(first["result"]) != fmt.Sprint(again["result"]) || again["requestId"] != "r2" {
		t.Fatalf("retry reply %v, first %v", again, first)
	}
	third := call("k2", "r3")
	if third["result"].(map[string]any)["count"] != float64(2) {
		t.Fatalf("new key should run: %v", third)
	}
	a.send(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "increment", "idempotencyKey": 7, "requestId": "bad"})
	if r := a.expect("ERROR"); r["error"] != "Invalid message: idempotencyKey must be a string" {
		t.Fatalf("bad key type: %v", r)
	}
}

func TestEncryptedStateOpensOnAnotherServer(t *testing.T) {
	secret := []byte("shared-secret-shared-secret-shared")
	_, hs1 := newTestServer(t, live.Options{StateSecret: secret, EncryptState: true})
	_, hs2 := newTestServer(t, live.Options{StateSecret: secret, EncryptState: true})
	a := dialRaw(t, hs1, nil)
	id, reply := a.mount("Counter", nil)
	signed := signedOf(t, reply)
	if signed["encrypted"] != true || strings.Contains(signed["data"].(string), "count") {
		t.Fatalf("state not encrypted: %v", signed)
	}
	b := dialRaw(t, hs2, nil)
	b.send(rehydrateMsg(id, "Counter", signed, nil))
	sr := b.expect("STATE_REHYDRATED")
	if sr["payload"].(map[string]any)["state"].(map[string]any)["count"] != float64(0) {
		t.Fatalf("state: %v", sr)
	}
	b.expect("COMPONENT_REHYDRATED")
}

func TestRotatedKeyStillAccepted(t *testing.T) {
	old := []byte("old-secret-old-secret-old-secret!!")
	_, hs1 := newTestServer(t, live.Options{StateSecret: old})
	_, hs2 := newTestServer(t, live.Options{StateSecret: []byte("new-secret-new-secret-new-secret!!"), PreviousStateSecrets: [][]byte{old}})
	_, hs3 := newTestServer(t, live.Options{StateSecret: []byte("new-secret-new-secret-new-secret!!")})
	a := dialRaw(t, hs1, nil)
	id, reply := a.mount("Counter", nil)
	signed := signedOf(t, reply)
	c := dialRaw(t, hs3, nil)
	c.send(rehydrateMsg(id, "Counter", signed, nil))
	if r := c.expect("COMPONENT_REHYDRATED"); r["error"] != "Invalid signature" {
		t.Fatalf("unknown key accepted: %v", r)
	}
	b := dialRaw(t, hs2, nil)
	b.send(rehydrateMsg(id, "Counter", signed, nil))
	b.expect("STATE_REHYDRATED")
	if r := b.expect("COMPONENT_REHYDRATED"); r["success"] != true {
		t.Fatalf("previous key refused: %v", r)
	}
}

// ---- in-memory helpers ----

func newRecoveryServer(t *testing.T, opts live.Options) *live.Server {
	t.Helper()
	opts.StateSecret = []byte("recovery-secret-recovery-secret!!")
	opts.PingInterval = -1
	opts.RateLimitBurst = -1
	srv, err := live.New(opts)
	must(t, err)
	must(t, live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}))
	return srv
}

// memExchange sends frame and collects messages until one carries a
// requestId (the reply), inside a synctest bubble or not.
func memExchange(t *testing.T, sock *memSocket, frame string) []map[string]any {
	t.Helper()
	sock.in <- []byte(frame)
	var out []map[string]any
	for {
		for _, m := range recvMsgs(t, sock) {
			out = append(out, m)
			if _, ok := m["requestId"]; ok {
				return out
			}
		}
	}
}

// drain returns every message already written to sock.
func drain(t *testing.T, sock *memSocket) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		select {
		case f := <-sock.out:
			var msgs []map[string]any
			if strings.HasPrefix(f.data, "[") {
				must(t, json.Unmarshal([]byte(f.data), &msgs))
			} else {
				var m map[string]any
				must(t, json.Unmarshal([]byte(f.data), &m))
				msgs = []map[string]any{m}
			}
			out = append(out, msgs...)
		default:
			return out
		}
	}
}

func findMsg(t *testing.T, msgs []map[string]any, typ string) map[string]any {
	t.Helper()
	for _, m := range msgs {
		if m["type"] == typ {
			return m
		}
	}
	t.Fatalf("no %s in %v", typ, msgs)
	return nil
}
