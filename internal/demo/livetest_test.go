package demo

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

// These tests drive the demo's components through the real engine with
// livetest: in memory, the way the demo page uses them.

func TestLivetestCounter(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, Register)
	c := s.Connect().Mount("Counter", nil)

	var st Counter
	c.Decode(&st)
	if st.Count != 0 || st.LastAction != nil {
		t.Fatalf("initial state = count %d, lastAction %v", st.Count, st.LastAction)
	}
	steps := []struct {
		action string
		want   int
	}{
		{"increment", 1},
		{"increment", 2},
		{"decrement", 1},
		{"reset", 0},
		{"decrement", -1},
	}
	for _, step := range steps {
		raw := c.MustCall(step.action, nil)
		var res CountResult
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("%s result %s: %v", step.action, raw, err)
		}
		if !res.Success || res.Count != step.want {
			t.Fatalf("%s result = %+v, want count %d", step.action, res, step.want)
		}
		c.Decode(&st)
		if st.Count != step.want || st.LastAction == nil || *st.LastAction != step.action {
			t.Fatalf("after %s: count %d, lastAction %v", step.action, st.Count, st.LastAction)
		}
	}

	// Every mount has a counter of its own.
	other := s.Connect().Mount("Counter", nil)
	if got := other.State()["count"]; got != 0.0 {
		t.Fatalf("a second counter starts at %v", got)
	}
	s.Sync()
	if got := c.State()["count"]; got != -1.0 {
		t.Fatalf("the first counter changed to %v", got)
	}

	// Only the three actions are callable, and the count is server-only.
	if _, err := c.Call("done", nil); err == nil {
		t.Fatal("an unlisted method was callable")
	}
	if err := c.Set("count", 100); err == nil {
		t.Fatal("a client set the count")
	}
}

func TestLivetestTodoListIsShared(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{}, Register)
	a := s.Connect().Mount("TodoList", nil)
	b := s.Connect().Mount("TodoList", nil)
	if a.ID() != b.ID() {
		t.Fatalf("two tabs got different lists: %s, %s", a.ID(), b.ID())
	}

	var added Todo
	if err := json.Unmarshal(a.MustCall("addTodo", AddTodoArgs{Text: "  buy milk \n"}), &added); err != nil {
		t.Fatal(err)
	}
	if added != (Todo{ID: 1, Text: "buy milk"}) {
		t.Fatalf("addTodo result = %+v", added)
	}
	b.MustCall("addTodo", AddTodoArgs{Text: "write tests"})
	b.MustCall("toggleTodo", ToggleTodoArgs{ID: 1})
	s.Sync()

	want := []Todo{{ID: 1, Text: "buy milk", Done: true}, {ID: 2, Text: "write tests"}}
	for name, c := range map[string]*livetest.Component{"a": a, "b": b} {
		var st TodoList
		c.Decode(&st)
		if diff := cmp.Diff(want, st.Todos); diff != "" {
			t.Fatalf("tab %s todos (-want +got):\n%s", name, diff)
		}
	}

	// A tab opened later starts from the current list.
	late := s.Connect().Mount("TodoList", nil)
	var st TodoList
	late.Decode(&st)
	if diff := cmp.Diff(want, st.Todos); diff != "" {
		t.Fatalf("late tab todos (-want +got):\n%s", diff)
	}

	a.TakeEvents()
	b.TakeEvents()
	errs := []struct {
		action  string
		payload any
		want    string
	}{
		{"addTodo", AddTodoArgs{Text: " \t "}, "todo text must not be empty"},
		{"toggleTodo", ToggleTodoArgs{ID: 99}, "todo 99 not found"},
		{"addTodo", map[string]any{"text": "x", "extra": 1}, ""},
	}
	for _, e := range errs {
		_, err := a.Call(e.action, e.payload)
		var re *livetest.ReplyError
		if !errors.As(err, &re) || (e.want != "" && re.Message != e.want) {
			t.Fatalf("%s(%v) = %v, want %q", e.action, e.payload, err, e.want)
		}
	}
	s.Sync()
	// The failures were emitted to the caller only, and changed nothing.
	if n := len(a.Events()); n != len(errs) {
		t.Fatalf("caller got %d events, want %d ERRORs: %v", n, len(errs), a.Events())
	}
	if evs := b.Events(); len(evs) != 0 {
		t.Fatalf("another tab got the caller's errors: %v", evs)
	}
	b.Decode(&st)
	if diff := cmp.Diff(want, st.Todos); diff != "" {
		t.Fatalf("failed calls changed the list (-want +got):\n%s", diff)
	}
}

func TestLivetestTodoListOutlivesItsTabs(t *testing.T) {
	t.Parallel()
	// No resume grace: the singleton is destroyed with its last tab.
	s := livetest.NewServer(t, live.Options{ResumeGrace: -1}, Register)
	tab := s.Connect()
	first := tab.Mount("TodoList", nil)
	first.MustCall("addTodo", AddTodoArgs{Text: "keep me"})
	tab.Close()

	second := s.Connect().Mount("TodoList", nil)
	if second.ID() == first.ID() {
		t.Fatal("the singleton was not recreated")
	}
	second.MustCall("addTodo", AddTodoArgs{Text: "and me"})
	var st TodoList
	second.Decode(&st)
	want := []Todo{{ID: 1, Text: "keep me"}, {ID: 2, Text: "and me"}}
	if diff := cmp.Diff(want, st.Todos); diff != "" {
		t.Fatalf("todos after the last tab closed (-want +got):\n%s", diff)
	}
}
