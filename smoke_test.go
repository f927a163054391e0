package live_test

import (
	"testing"

	live "github.com/live-go/live"
)

func TestSmokeMountAndIncrement(t *testing.T) {
	_, hs := newTestServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, reply := rc.mount("Counter", nil)
	t.Logf("mount reply: %v", reply)
	rc.call(id, "increment", map[string]any{}, true, "r1")
	d := rc.expect("STATE_DELTA")
	t.Logf("delta: %v", d)
	r := rc.expect("ACTION_RESPONSE")
	t.Logf("reply: %v", r)
	t.Logf("frames: %q", rc.frames)
}
