package live_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	live "github.com/live-go/live"
)

func httpDo(t *testing.T, method, url, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	must(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestMonitoringReadRoutes(t *testing.T) {
	_, hs, _ := newRoomServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	a.mount("TodoList", nil)
	a.send(roomMsg("ROOM_JOIN", aID, "lobby", nil, "j"))
	a.expect("ROOM_JOINED")

	code, st := httpDo(t, "GET", hs.URL+"/api/live/stats", "", nil)
	if code != 200 {
		t.Fatalf("stats: %d", code)
	}
	if st["server"].(map[string]any)["connections"] != float64(1) ||
		st["rooms"].(map[string]any)["rooms"].(map[string]any)["lobby"].(map[string]any)["members"] != float64(1) {
		t.Fatalf("stats body: %v", st)
	}
	if s := st["components"].(map[string]any)["singletons"].(map[string]any)["TodoList"]; s.(map[string]any)["connections"] != float64(1) {
		t.Fatalf("singletons: %v", s)
	}
	// Leak and queue checks from outside: the goroutine count and the send
	// queues' high-water mark (the first message queued was at least
	// CONNECTION_ESTABLISHED).
	server := st["server"].(map[string]any)
	if g, _ := server["goroutines"].(float64); g < 1 {
		t.Fatalf("stats goroutines = %v", server["goroutines"])
	}
	for _, k := range []string{"heapLiveBytes", "gcCycles"} { // 0 before the first collection
		if _, ok := server[k].(float64); !ok {
			t.Fatalf("stats %s = %v", k, server[k])
		}
	}
	if p, _ := server["queuePeakBytes"].(float64); p < float64(len(`{"type":"CONNECTION_ESTABLISHED"}`)) {
		t.Fatalf("stats queuePeakBytes = %v", server["queuePeakBytes"])
	}
	code, names := httpDo(t, "GET", hs.URL+"/api/live/components", "", nil)
	if code != 200 || len(names["names"].([]any)) < 3 {
		t.Fatalf("components: %d %v", code, names)
	}
	if code, _ := httpDo(t, "POST", hs.URL+"/api/live/stats", "", nil); code != 405 {
		t.Fatalf("POST stats: %d", code)
	}
}

func TestMonitoringReadRoutesCanBeDisabled(t *testing.T) {
	_, hs := newTestServer(t, live.Options{DisableMonitoring: true})
	if code, _ := httpDo(t, "GET", hs.URL+"/api/live/stats", "", nil); code != 404 {
		t.Fatalf("disabled stats: %d", code)
	}
}

// §14: the reference's monitoring POST routes let anyone emit into any room.
func TestMonitoringWritesNeedAuthorizer(t *testing.T) {
	_, hs, _ := newRoomServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	a.send(roomMsg("ROOM_JOIN", aID, "lobby", nil, "j"))
	a.expect("ROOM_JOINED")
	for _, path := range []string{"/api/live/rooms/lobby/messages", "/api/live/rooms/lobby/emit"} {
		code, body := httpDo(t, "POST", hs.URL+path, `{"event":"x","data":1}`, nil)
		if code != 403 || body["success"] != false {
			t.Fatalf("%s without authorizer: %d %v", path, code, body)
		}
	}
	a.quiet() // nothing reached the room
}

func TestMonitoringWritesWithAuthorizer(t *testing.T) {
	_, hs, _ := newRoomServer(t, live.Options{MonitorAuthorizer: func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer ops" {
			return errors.New("no")
		}
		return nil
	}})
	a := dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	a.send(roomMsg("ROOM_JOIN", aID, "lobby", nil, "j"))
	a.expect("ROOM_JOINED")
	auth := map[string]string{"Authorization": "Bearer ops"}
	if code, _ := httpDo(t, "POST", hs.URL+"/api/live/rooms/lobby/emit", `{"event":"x"}`, map[string]string{"Authorization": "Bearer nope"}); code != 403 {
		t.Fatalf("wrong credentials: %d", code)
	}
	code, body := httpDo(t, "POST", hs.URL+"/api/live/rooms/lobby/emit", `{"event":"alert","data":{"level":2}}`, auth)
	if code != 200 || body["event"] != "alert" || body["roomId"] != "lobby" {
		t.Fatalf("emit: %d %v", code, body)
	}
	ev := a.expect("ROOM_EVENT")
	if ev["event"] != "alert" || ev["componentId"] != aID {
		t.Fatalf("event: %v", ev)
	}
	code, _ = httpDo(t, "POST", hs.URL+"/api/live/rooms/lobby/messages", `{"text":"hi"}`, auth)
	if code != 200 {
		t.Fatalf("messages: %d", code)
	}
	if ev := a.expect("ROOM_EVENT"); ev["event"] != "message:new" {
		t.Fatalf("message: %v", ev)
	}
	if code, body := httpDo(t, "POST", hs.URL+"/api/live/rooms/lobby/emit", `{"event":5}`, auth); code != 400 || body["error"] != "event must be a string" {
		t.Fatalf("bad event: %d %v", code, body)
	}
}

func TestServesEmbeddedJSClient(t *testing.T) {
	_, hs := newTestServer(t, live.Options{})
	for _, p := range []string{"/api/live/client.js", "/api/live/protocol_gen.js", "/api/live/client.d.ts"} {
		resp, err := http.Get(hs.URL + p)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" {
			t.Fatalf("%s: %d etag %q", p, resp.StatusCode, resp.Header.Get("ETag"))
		}
	}
}
