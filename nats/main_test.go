package livenats_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test binary checks that no goroutine outlives the tests: nodes
// close their connections, subscriptions and keep-alive goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
