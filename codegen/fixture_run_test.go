package codegen_test

import (
	"context"
	"slices"
	"testing"

	"github.com/live-go/live"
	"github.com/live-go/live/codegen/testdata/fixture"
	"github.com/live-go/live/livetest"
)

// The golden file is compiled into this test binary with the fixture: it
// type-checks against the real live API, and these tests run it.

// TestGeneratedRegistration checks that the generated function registers
// exactly the fixture's components on a real server.
func TestGeneratedRegistration(t *testing.T) {
	srv, err := fixture.NewServer(live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	want := []string{"Counter", "Greeter", "SecretPanel", "Todos", "Widget"}
	if got := srv.ComponentNames(); !slices.Equal(got, want) {
		t.Fatalf("components = %v, want %v", got, want)
	}
	if err := fixture.RegisterLive(srv); err == nil {
		t.Fatal("registering twice succeeded")
	}
}

// TestGeneratedAllowList drives the registered components: the generated
// allow-lists admit exactly the listed actions.
func TestGeneratedAllowList(t *testing.T) {
	s := livetest.NewServer(t, live.Options{}, fixture.RegisterLive)
	conn := s.Connect()

	counter := conn.Mount("Counter", map[string]int{"step": 2})
	counter.MustCall("increment", nil)
	if got := counter.MustCall("add", fixture.AddArgs{N: 3}); string(got) != "5" {
		t.Fatalf("add = %s, want 5", got)
	}
	todos := conn.Mount("Todos", nil)
	todos.MustCall("addTodo", "write docs")
	if _, err := todos.Call("clear", nil); err == nil {
		t.Fatal("clear is not in the //live:actions list but was callable")
	}
	if got := conn.Mount("Greeter", nil).MustCall("greet", "gopher"); string(got) != `"hello gopher"` {
		t.Fatalf("greet = %s", got)
	}
	if _, err := conn.Mount("SecretPanel", nil).Call("toggle", nil); err != nil {
		t.Fatal(err)
	}
}
