package demo

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

func testCtx(t *testing.T) *live.Ctx {
	t.Helper()
	return &live.Ctx{Context: t.Context()}
}

func strp(s string) *string { return &s }

func TestCounter(t *testing.T) {
	tests := []struct {
		name    string
		actions []string
		want    Counter
		result  CountResult
	}{
		{name: "fresh", want: Counter{}},
		{name: "increment", actions: []string{"increment"}, want: Counter{Count: 1, LastAction: strp("increment")}, result: CountResult{Success: true, Count: 1}},
		{name: "decrement below zero", actions: []string{"decrement", "decrement"}, want: Counter{Count: -2, LastAction: strp("decrement")}, result: CountResult{Success: true, Count: -2}},
		{name: "mixed", actions: []string{"increment", "increment", "decrement", "increment"}, want: Counter{Count: 2, LastAction: strp("increment")}, result: CountResult{Success: true, Count: 2}},
		{name: "reset", actions: []string{"increment", "increment", "reset"}, want: Counter{Count: 0, LastAction: strp("reset")}, result: CountResult{Success: true, Count: 0}},
		{name: "reset fresh", actions: []string{"reset"}, want: Counter{LastAction: strp("reset")}, result: CountResult{Success: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counter
			ctx := testCtx(t)
			var res CountResult
			for _, a := range tt.actions {
				var err error
				switch a {
				case "increment":
					res, err = c.Increment(ctx)
				case "decrement":
					res, err = c.Decrement(ctx)
				case "reset":
					res, err = c.Reset(ctx)
				}
				if err != nil {
					t.Fatalf("%s: %v", a, err)
				}
			}
			if diff := cmp.Diff(tt.want, c, cmp.AllowUnexported(live.Base{})); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if res != tt.result {
				t.Errorf("last result = %+v, want %+v", res, tt.result)
			}
		})
	}
}

func TestCounterLastActionIsNotShared(t *testing.T) {
	var c Counter
	ctx := testCtx(t)
	if _, err := c.Increment(ctx); err != nil {
		t.Fatal(err)
	}
	first := c.LastAction
	if _, err := c.Decrement(ctx); err != nil {
		t.Fatal(err)
	}
	if *first != "increment" || *c.LastAction != "decrement" {
		t.Fatalf("an action changed an earlier LastAction value: %q, %q", *first, *c.LastAction)
	}
}

func TestAddTodoText(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		wantText string
		wantErr  error
		wantMsg  string
	}{
		{name: "plain", text: "milk", wantText: "milk"},
		{name: "trimmed", text: " \t milk and eggs \n", wantText: "milk and eggs"},
		{name: "inner space kept", text: "a  b", wantText: "a  b"},
		{name: "empty", text: "", wantErr: ErrEmptyText, wantMsg: "todo text must not be empty"},
		{name: "only space", text: " \t\r\n\u00a0\u3000", wantErr: ErrEmptyText, wantMsg: "todo text must not be empty"},
		{name: "200 ascii", text: strings.Repeat("x", 200), wantText: strings.Repeat("x", 200)},
		{name: "201 ascii", text: strings.Repeat("x", 201), wantErr: ErrTextTooLong, wantMsg: "todo text must be at most 200 characters"},
		{name: "200 ascii padded", text: "  " + strings.Repeat("x", 200) + "  ", wantText: strings.Repeat("x", 200)},
		{name: "200 two-byte runes", text: strings.Repeat("é", 200), wantText: strings.Repeat("é", 200)},
		{name: "200 four-byte runes", text: strings.Repeat("🙂", 200), wantText: strings.Repeat("🙂", 200)},
		{name: "201 four-byte runes", text: strings.Repeat("🙂", 201), wantErr: ErrTextTooLong},
		{name: "one megabyte", text: strings.Repeat("x", 1<<20), wantErr: ErrTextTooLong},
		{name: "html kept verbatim", text: "<b>bold</b>", wantText: "<b>bold</b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l TodoList
			got, err := l.AddTodo(testCtx(t), AddTodoArgs{Text: tt.text})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				var le *live.Error
				if !errors.As(err, &le) {
					t.Fatalf("err %T is not a *live.Error", err)
				}
				if tt.wantMsg != "" && le.Message != tt.wantMsg {
					t.Errorf("client message = %q, want %q", le.Message, tt.wantMsg)
				}
				if len(l.Todos) != 0 {
					t.Errorf("a rejected todo was stored: %+v", l.Todos)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Todo{ID: 1, Text: tt.wantText}
			if got != want {
				t.Errorf("result = %+v, want %+v", got, want)
			}
			if diff := cmp.Diff([]Todo{want}, l.Todos); diff != "" {
				t.Errorf("todos (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddTodoLimit(t *testing.T) {
	var l TodoList
	ctx := testCtx(t)
	for i := range MaxTodos {
		td, err := l.AddTodo(ctx, AddTodoArgs{Text: "t"})
		if err != nil {
			t.Fatalf("todo %d: %v", i+1, err)
		}
		if td.ID != i+1 {
			t.Fatalf("todo %d got id %d", i+1, td.ID)
		}
	}
	_, err := l.AddTodo(ctx, AddTodoArgs{Text: "one too many"})
	if !errors.Is(err, ErrListFull) {
		t.Fatalf("err = %v, want ErrListFull", err)
	}
	if err.Error() != "the list is full (at most 500 todos)" {
		t.Errorf("client message = %q", err.Error())
	}
	if len(l.Todos) != MaxTodos {
		t.Fatalf("len = %d, want %d", len(l.Todos), MaxTodos)
	}
	// Invalid text is reported before fullness: the caller can fix it.
	if _, err := l.AddTodo(ctx, AddTodoArgs{Text: " "}); !errors.Is(err, ErrEmptyText) {
		t.Errorf("err = %v, want ErrEmptyText", err)
	}
}

func TestToggleTodo(t *testing.T) {
	tests := []struct {
		name    string
		toggles []int
		want    []bool // done flags of ids 1..3
		wantErr error
		wantMsg string
	}{
		{name: "first", toggles: []int{1}, want: []bool{true, false, false}},
		{name: "last", toggles: []int{3}, want: []bool{false, false, true}},
		{name: "twice", toggles: []int{2, 2}, want: []bool{false, false, false}},
		{name: "all", toggles: []int{3, 1, 2}, want: []bool{true, true, true}},
		{name: "unknown", toggles: []int{4}, want: []bool{false, false, false}, wantErr: ErrNoSuchTodo, wantMsg: "todo 4 not found"},
		{name: "zero", toggles: []int{0}, want: []bool{false, false, false}, wantErr: ErrNoSuchTodo, wantMsg: "todo 0 not found"},
		{name: "negative", toggles: []int{-1}, want: []bool{false, false, false}, wantErr: ErrNoSuchTodo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l TodoList
			ctx := testCtx(t)
			for _, s := range []string{"a", "b", "c"} {
				if _, err := l.AddTodo(ctx, AddTodoArgs{Text: s}); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			for _, id := range tt.toggles {
				var td Todo
				td, err = l.ToggleTodo(ctx, ToggleTodoArgs{ID: id})
				if err == nil && (td.ID != id || td.Done != l.Todos[id-1].Done) {
					t.Errorf("toggle %d returned %+v, list has %+v", id, td, l.Todos[id-1])
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("client message = %q, want %q", err.Error(), tt.wantMsg)
			}
			got := make([]bool, len(l.Todos))
			for i, td := range l.Todos {
				got[i] = td.Done
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("done flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTodoStoreOutlivesInstances(t *testing.T) {
	store := &todoStore{}
	ctx := testCtx(t)
	first := store.newTodoList()
	if first.Todos == nil {
		t.Fatal("a new list has nil Todos (would encode as null)")
	}
	for _, s := range []string{"a", "b"} {
		if _, err := first.AddTodo(ctx, AddTodoArgs{Text: s}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := first.ToggleTodo(ctx, ToggleTodoArgs{ID: 2}); err != nil {
		t.Fatal(err)
	}
	if got := store.newTodoList().Todos; len(got) != 0 {
		t.Fatalf("the store changed before the instance was destroyed: %+v", got)
	}
	first.OnDestroy()

	second := store.newTodoList()
	want := []Todo{{ID: 1, Text: "a"}, {ID: 2, Text: "b", Done: true}}
	if diff := cmp.Diff(want, second.Todos); diff != "" {
		t.Fatalf("second instance (-want +got):\n%s", diff)
	}
	// The instances do not alias the store or each other.
	second.Todos[0].Text = "changed"
	if first.Todos[0].Text != "a" || store.newTodoList().Todos[0].Text != "a" {
		t.Fatal("an instance's slice aliases the store")
	}
	td, err := second.AddTodo(ctx, AddTodoArgs{Text: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if td.ID != 3 {
		t.Errorf("id after reload = %d, want 3", td.ID)
	}
}

func TestTodoIDsNeverReused(t *testing.T) {
	// The store hands out ids even if an older instance (still holding a
	// shorter list) adds after a newer one.
	store := &todoStore{}
	ctx := testCtx(t)
	a, b := store.newTodoList(), store.newTodoList()
	x, err := a.AddTodo(ctx, AddTodoArgs{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.AddTodo(ctx, AddTodoArgs{Text: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if x.ID == y.ID {
		t.Fatalf("two todos got id %d", x.ID)
	}
}

func TestRegister(t *testing.T) {
	srv, err := live.New(live.Options{StateSecret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(srv); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Chat", "Counter", "Gallery", "SharedCounter", "SingletonCounter", "TodoList"}, srv.ComponentNames()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	err = Register(srv)
	if err == nil || !strings.HasPrefix(err.Error(), "demo: ") {
		t.Errorf("second Register: err = %v, want a demo: error", err)
	}
}

const testSecret = "demo-test-secret-demo-test-secret"

func TestNextIDAfterRestoredList(t *testing.T) {
	// A list restored from a signed state (after a restart) holds ids
	// that a fresh store never handed out.
	store := &todoStore{}
	l := store.newTodoList()
	l.Todos = []Todo{{ID: 4, Text: "restored"}, {ID: 7, Text: "restored too"}}
	td, err := l.AddTodo(testCtx(t), AddTodoArgs{Text: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if td.ID != 8 {
		t.Fatalf("id = %d, want 8", td.ID)
	}
	if _, err := l.ToggleTodo(testCtx(t), ToggleTodoArgs{ID: 7}); err != nil {
		t.Fatalf("toggle restored todo: %v", err)
	}
}
