package demo

import (
	"strconv"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
)

func BenchmarkCounterIncrement(b *testing.B) {
	var c Counter
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Increment(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddTodo(b *testing.B) {
	l := (&todoStore{}).newTodoList()
	args := AddTodoArgs{Text: "  buy milk and eggs  "}
	b.ReportAllocs()
	for b.Loop() {
		if len(l.Todos) == MaxTodos {
			l.Todos = l.Todos[:0]
		}
		if _, err := l.AddTodo(nil, args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToggleTodoFullList(b *testing.B) {
	l := (&todoStore{}).newTodoList()
	for range MaxTodos {
		if _, err := l.AddTodo(nil, AddTodoArgs{Text: "todo"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	id := 0
	for b.Loop() {
		id = id%MaxTodos + 1
		if _, err := l.ToggleTodo(nil, ToggleTodoArgs{ID: id}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatHubPost(b *testing.B) {
	h := newChatHub(nil)
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		h.post("alice", "hello there", at)
		_ = h.recent() // every member copies the history into its state
	}
}

func BenchmarkCleanLine(b *testing.B) {
	text := "  " + strings.Repeat("hello wörld ", 20) + "  "
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cleanLine(text, MaxChatText, "message", ErrBadMessage); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatHubNames(b *testing.B) {
	h := newChatHub(nil)
	members := make([]live.Member, 20)
	for i := range members {
		id := "c" + strconv.Itoa(i)
		h.setName(id, "guest-"+strconv.Itoa(i))
		members[i] = live.Member{ComponentID: id}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, n := h.names(members); n != len(members) {
			b.Fatal(n)
		}
	}
}

func BenchmarkFileLabel(b *testing.B) {
	name := "holiday photo from the beach \u202e 2026.png"
	b.ReportAllocs()
	for b.Loop() {
		_ = fileLabel(name)
	}
}
