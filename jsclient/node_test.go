package jsclient

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// TestNodeUnitTests runs the JavaScript unit tests (test/*.test.mjs) with
// Node's built-in runner. It skips when node is not installed, unless
// LIVE_REQUIRE_SERVICES=1, where a missing node fails the test.
func TestNodeUnitTests(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("LIVE_REQUIRE_SERVICES") == "1" {
			t.Fatalf("node not found on PATH (LIVE_REQUIRE_SERVICES=1): %v", err)
		}
		t.Skip("node not found on PATH: skipping the JavaScript unit tests (install Node ≥ 20 to run them)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "test/")
	cmd.Env = append(os.Environ(), "NODE_OPTIONS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed: %v\n%s", err, out)
	}
	pass := regexp.MustCompile(`(?m)^# pass (\d+)$`).FindSubmatch(out)
	fail := regexp.MustCompile(`(?m)^# fail (\d+)$`).FindSubmatch(out)
	if pass == nil || fail == nil || string(fail[1]) != "0" || string(pass[1]) == "0" {
		t.Fatalf("unexpected node --test summary:\n%s", out)
	}
	t.Logf("node --test: %s passed, %s failed", pass[1], fail[1])
}
