package livetest_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

// exampleT stands in for the *testing.T of a test function, so that the
// examples can run as examples: in a test, pass the test's t instead.
type exampleT struct {
	testing.TB // nil: only the methods below are called
	cleanups   []func()
}

func newExampleT() *exampleT                          { return &exampleT{} }
func (e *exampleT) Helper()                           {}
func (e *exampleT) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleT) Errorf(format string, args ...any) { fmt.Printf("error: "+format+"\n", args...) }
func (e *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// done runs the cleanups, as the end of a test does.
func (e *exampleT) done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// A test mounts a component, calls its actions and reads its state, all in
// memory, through the real engine.
func Example() {
	t := newExampleT() // in a test: the test's *testing.T
	defer t.done()

	s := livetest.NewServer(t, live.Options{}, func(srv *live.Server) error {
		return live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment", "add"}})
	})
	c := s.Connect().Mount("Counter", nil)
	c.MustCall("increment", nil)
	res := c.MustCall("add", AddArgs{N: 10})

	var state Counter
	c.Decode(&state) // decode into the component's own type
	fmt.Println("result:", string(res))
	fmt.Println("count:", state.Count)
	// Output:
	// result: 11
	// count: 11
}

// A failing action returns a *ReplyError holding the message the client
// sees; the engine also emits it as an ERROR event of the component.
func ExampleComponent_Call() {
	t := newExampleT()
	defer t.done()
	s := livetest.NewServer(t, live.Options{}, registerCounter)
	c := s.Connect().Mount("Counter", nil)

	_, err := c.Call("add", AddArgs{N: -1})
	var re *livetest.ReplyError
	fmt.Println(errors.As(err, &re), err)
	for _, ev := range c.Events() {
		fmt.Println(ev.Type, ev.Action, ev.Error)
	}
	// Output:
	// true n must not be negative
	// ERROR add n must not be negative
}

// Events holds what the component emitted; TakeEvents empties it, to check
// one step at a time.
func ExampleComponent_TakeEvents() {
	t := newExampleT()
	defer t.done()
	s := livetest.NewServer(t, live.Options{}, registerCounter)
	c := s.Connect().Mount("Counter", nil)

	c.MustCall("increment", nil)
	c.MustCall("notify", nil)
	for _, ev := range c.TakeEvents() {
		fmt.Println(ev.Type, string(ev.Data))
	}
	fmt.Println(len(c.Events()))
	// Output:
	// counted {"count":1}
	// 0
}

// WithIdentity connects as an authenticated user, as Options.Identify
// would have identified them.
func ExampleWithIdentity() {
	t := newExampleT()
	defer t.done()
	s := livetest.NewServer(t, live.Options{}, registerCounter, registerVault)

	anon := s.Connect()
	_, err := anon.TryMount("Vault", nil)
	fmt.Println(err)

	admin := s.Connect(livetest.WithIdentity(&live.Identity{ID: "ada", Roles: []string{"admin"}}))
	v := admin.Mount("Vault", nil)
	fmt.Println(v.State()["secret"])
	fmt.Println(string(admin.Mount("Counter", nil).MustCall("whoami", nil)))
	// Output:
	// AUTH_DENIED: Authentication required
	// s3cret
	// "ada"
}

// Two connections share a singleton: what one does, the other sees.
func ExampleServer_Connect() {
	t := newExampleT()
	defer t.done()
	s := livetest.NewServer(t, live.Options{}, registerBoard)
	alice := s.Connect().Mount("Board", nil)
	bob := s.Connect().Mount("Board", nil)

	alice.MustCall("post", map[string]string{"text": "hello"})
	s.Sync() // bob's connection has received the delta
	fmt.Println(bob.State()["notes"])
	// Output:
	// [hello]
}

// A component's room handle speaks the client room messages; its Events
// are the room traffic the component received.
func ExampleComponent_Room() {
	t := newExampleT()
	defer t.done()
	s := livetest.NewServer(t, live.Options{}, registerCounter)
	a := s.Connect().Mount("Counter", nil).Room("chat:lobby")
	b := s.Connect().Mount("Counter", nil).Room("chat:lobby")
	if err := a.Join(nil); err != nil {
		panic(err)
	}
	if err := b.Join(nil); err != nil {
		panic(err)
	}
	if err := b.Emit("typing", map[string]bool{"on": true}); err != nil {
		panic(err)
	}
	s.Sync() // a is on another connection
	for _, ev := range a.Events() {
		fmt.Println(ev.Type, ev.Event)
	}
	// Output:
	// ROOM_SYSTEM $sub:join
	// ROOM_EVENT typing
}

// Inside a synctest bubble, Advance moves the fake clock: timers fire at
// once and in order, and the test takes no real time. (Run as a test: the
// bubble needs the test's *testing.T.)
func ExampleServer_Advance() {
	var t *testing.T // the test function's t
	synctest.Test(t, func(t *testing.T) {
		s := livetest.NewServer(t, live.Options{}, registerClock)
		c := s.Connect().Mount("Clock", nil)
		s.Advance(3 * time.Second)
		if got := c.State()["ticks"]; got != 3.0 {
			t.Fatalf("ticks = %v, want 3", got)
		}
	})
}
