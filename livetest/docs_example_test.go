package livetest_test

// The code in this file is quoted by docs/testing.md: TestDocsSnippets
// fails when a snippet of the document is not found here word for word, so
// the documentation always compiles and passes.

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

// Cart is a shopping cart, one per browser tab. It empties itself after
// 15 minutes without activity.
type Cart struct {
	live.Base
	Items []string `json:"items"`

	idle *time.Timer // server-only
}

type AddItem struct {
	Name string `json:"name"`
}

func (c *Cart) Add(ctx *live.Ctx, a AddItem) (int, error) {
	if a.Name == "" {
		return 0, &live.Error{Message: "item name required"}
	}
	c.Items = append(c.Items, a.Name)
	c.touch()
	return len(c.Items), nil
}

func (c *Cart) Checkout(ctx *live.Ctx) error {
	if len(c.Items) == 0 {
		return &live.Error{Message: "cart is empty"}
	}
	if err := c.Emit("checkedOut", map[string]int{"items": len(c.Items)}); err != nil {
		return err
	}
	c.Items = []string{}
	return nil
}

// touch restarts the idle timer. It runs under the component's lock.
func (c *Cart) touch() {
	if c.idle != nil {
		c.idle.Stop()
	}
	c.idle = time.AfterFunc(15*time.Minute, func() {
		_ = c.Update(func() { c.Items = []string{} })
	})
}

func (c *Cart) OnDestroy() {
	if c.idle != nil {
		c.idle.Stop()
	}
}

func RegisterCart(s *live.Server) error {
	return live.Register(s, live.Component[Cart]{
		Name:    "Cart",
		Actions: []string{"add", "checkout"},
		New:     func() *Cart { return &Cart{Items: []string{}} },
	})
}

func TestCart(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, RegisterCart)
	cart := s.Connect().Mount("Cart", nil)

	n := cart.MustCall("add", AddItem{Name: "tea"})
	if string(n) != "1" {
		t.Fatalf("add returned %s, want 1", n)
	}
	var got Cart
	cart.Decode(&got) // the state, decoded into the component's own type
	if !slices.Equal(got.Items, []string{"tea"}) {
		t.Fatalf("items = %v", got.Items)
	}
}

func TestCartErrorsAndEvents(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, RegisterCart)
	cart := s.Connect().Mount("Cart", nil)

	_, err := cart.Call("checkout", nil)
	if err == nil || err.Error() != "cart is empty" {
		t.Fatalf("checkout of an empty cart: %v", err)
	}
	cart.TakeEvents() // forget the ERROR event the failure emitted

	cart.MustCall("add", AddItem{Name: "tea"})
	cart.MustCall("checkout", nil)
	evs := cart.TakeEvents()
	if len(evs) != 1 || evs[0].Type != "checkedOut" || string(evs[0].Data) != `{"items":1}` {
		t.Fatalf("events = %v", evs)
	}
}

// Poll is shared by every tab (a singleton); only admins may end it.
type Poll struct {
	live.Base
	Votes map[string]int `json:"votes"`
	Ended bool           `json:"ended"`
}

type Vote struct {
	Option string `json:"option"`
}

func (p *Poll) Vote(ctx *live.Ctx, v Vote) error {
	if p.Ended {
		return &live.Error{Message: "the poll has ended"}
	}
	p.Votes[v.Option]++
	return nil
}

func (p *Poll) End(ctx *live.Ctx) error { p.Ended = true; return nil }

func RegisterPoll(s *live.Server) error {
	return live.Register(s, live.Component[Poll]{
		Name:       "Poll",
		Actions:    []string{"vote", "end"},
		Singleton:  true,
		New:        func() *Poll { return &Poll{Votes: map[string]int{}} },
		ActionAuth: map[string]live.AuthRule{"end": {Roles: []string{"admin"}}},
	})
}

func TestPollIsShared(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, RegisterPoll)
	alice := s.Connect().Mount("Poll", nil)
	bob := s.Connect().Mount("Poll", nil)

	alice.MustCall("vote", Vote{Option: "go"})
	bob.MustCall("vote", Vote{Option: "go"})
	s.Sync() // every tab has received every delta

	for _, tab := range []*livetest.Component{alice, bob} {
		var p Poll
		tab.Decode(&p)
		if p.Votes["go"] != 2 {
			t.Fatalf("tab %s sees %v", tab.ID(), p.Votes)
		}
	}
}

func TestOnlyAdminsEndThePoll(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, RegisterPoll)
	guest := s.Connect().Mount("Poll", nil)
	admin := s.Connect(livetest.WithIdentity(&live.Identity{ID: "ada", Roles: []string{"admin"}})).
		Mount("Poll", nil)

	if _, err := guest.Call("end", nil); err == nil {
		t.Fatal("a guest ended the poll")
	}
	admin.MustCall("end", nil)
	if _, err := guest.Call("vote", Vote{Option: "go"}); err == nil || err.Error() != "the poll has ended" {
		t.Fatalf("vote after the end: %v", err)
	}
}

func TestSupportChat(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, RegisterCart)
	customer := s.Connect().Mount("Cart", nil).Room("support:42")
	agent := s.Connect().Mount("Cart", nil).Room("support:42")
	for _, r := range []*livetest.Room{customer, agent} {
		if err := r.Join(nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := customer.Emit("message", "where is my tea?"); err != nil {
		t.Fatal(err)
	}
	s.Sync()
	var got []string
	for _, ev := range agent.Events() {
		got = append(got, ev.Type+" "+ev.Event+" "+string(ev.Data))
	}
	want := []string{`ROOM_EVENT message "where is my tea?"`}
	if !slices.Equal(got, want) {
		t.Fatalf("agent saw %q, want %q", got, want)
	}
}

func TestCartExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := livetest.NewServer(t, live.Options{}, RegisterCart)
		cart := s.Connect().Mount("Cart", nil)
		cart.MustCall("add", AddItem{Name: "tea"})

		s.Advance(14 * time.Minute) // fake time: returns at once
		if n := len(cart.State()["items"].([]any)); n != 1 {
			t.Fatalf("after 14 minutes: %d items", n)
		}
		s.Advance(time.Minute)
		if n := len(cart.State()["items"].([]any)); n != 0 {
			t.Fatalf("after 15 minutes: %d items", n)
		}
	})
}
