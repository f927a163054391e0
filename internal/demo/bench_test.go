package demo

import (
	"testing"
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
