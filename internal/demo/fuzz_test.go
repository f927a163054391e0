package demo

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzAddTodo checks AddTodo on arbitrary client text: it never panics, it
// stores exactly the trimmed text when that is 1 to MaxTodoText runes, and
// otherwise rejects it with the right error and stores nothing.
func FuzzAddTodo(f *testing.F) {
	for _, s := range []string{"", " ", "milk", "  milk  ", strings.Repeat("x", 200), strings.Repeat("x", 201),
		strings.Repeat("é", 201), "\xff\xfe", "\u00a0a\u00a0", "a\x00b", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var l TodoList
		td, err := l.AddTodo(testCtx(t), AddTodoArgs{Text: text})
		trimmed := strings.TrimSpace(text)
		n := utf8.RuneCountInString(trimmed)
		switch {
		case n == 0:
			if !errors.Is(err, ErrEmptyText) {
				t.Fatalf("AddTodo(%q) err = %v, want ErrEmptyText", text, err)
			}
		case n > MaxTodoText:
			if !errors.Is(err, ErrTextTooLong) {
				t.Fatalf("AddTodo(%q) err = %v, want ErrTextTooLong", text, err)
			}
		default:
			if err != nil {
				t.Fatalf("AddTodo(%q) err = %v", text, err)
			}
			if td.Text != trimmed || len(l.Todos) != 1 || l.Todos[0] != td {
				t.Fatalf("AddTodo(%q) stored %+v, returned %+v", text, l.Todos, td)
			}
			return
		}
		if len(l.Todos) != 0 {
			t.Fatalf("rejected text was stored: %+v", l.Todos)
		}
	})
}

// FuzzTodoOps runs a sequence of addTodo / toggleTodo calls decoded from
// bytes against a simple model and checks the list matches it.
func FuzzTodoOps(f *testing.F) {
	f.Add([]byte{0, 'a', 1, 1, 1, 1, 0, 'b', 1, 2})
	f.Add([]byte{1, 0, 1, 255, 0, 0})
	f.Add([]byte(strings.Repeat("\x00x", 20)))
	f.Fuzz(func(t *testing.T, ops []byte) {
		// Long inputs add little and slow down minimization; the full-list
		// path is covered by TestAddTodoLimit.
		if len(ops) > 1024 {
			ops = ops[:1024]
		}
		store := &todoStore{}
		l := store.newTodoList()
		ctx := testCtx(t)
		model := map[int]bool{} // id -> done
		lastID := 0
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			if op%2 == 0 {
				text := strings.Repeat(string(rune('a'+arg%26)), int(arg%4)) // 0..3 chars: "" is invalid
				td, err := l.AddTodo(ctx, AddTodoArgs{Text: text})
				switch {
				case text == "":
					if !errors.Is(err, ErrEmptyText) {
						t.Fatalf("add %q: err = %v", text, err)
					}
				case len(model) >= MaxTodos:
					if !errors.Is(err, ErrListFull) {
						t.Fatalf("add to full list: err = %v", err)
					}
				default:
					if err != nil {
						t.Fatalf("add %q: %v", text, err)
					}
					if td.ID != lastID+1 {
						t.Fatalf("new id %d after %d", td.ID, lastID)
					}
					lastID = td.ID
					model[td.ID] = false
				}
				continue
			}
			id := int(arg) - 8 // some negative, some unknown
			td, err := l.ToggleTodo(ctx, ToggleTodoArgs{ID: id})
			done, known := model[id]
			if !known {
				if !errors.Is(err, ErrNoSuchTodo) {
					t.Fatalf("toggle unknown %d: err = %v", id, err)
				}
				continue
			}
			if err != nil || td.ID != id || td.Done == done {
				t.Fatalf("toggle %d: %+v, %v", id, td, err)
			}
			model[id] = td.Done
		}
		if len(l.Todos) != len(model) {
			t.Fatalf("list has %d todos, model %d", len(l.Todos), len(model))
		}
		for i, td := range l.Todos {
			if i > 0 && l.Todos[i-1].ID >= td.ID {
				t.Fatalf("ids out of order: %+v", l.Todos)
			}
			if model[td.ID] != td.Done {
				t.Fatalf("todo %d done=%v, model %v", td.ID, td.Done, model[td.ID])
			}
		}
		// After destruction, a fresh instance from the store sees the
		// same list.
		l.OnDestroy()
		if again := store.newTodoList(); len(again.Todos) != len(l.Todos) {
			t.Fatalf("store has %d todos, instance %d", len(again.Todos), len(l.Todos))
		}
	})
}

// FuzzCleanLine checks the validation of chat names and messages on
// arbitrary client text: it never panics, and it accepts exactly the
// trimmed text of 1 to max runes that is one line of valid UTF-8.
func FuzzCleanLine(f *testing.F) {
	for _, s := range []string{"", " ", "alice", "  bob  ", strings.Repeat("x", 24), strings.Repeat("é", 25),
		"a\nb", "a\u2028b", "\x1b[0m", "\xff", "🙂", "\u00a0x\u3000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		const maxRunes = 24
		got, err := cleanLine(in, maxRunes, "name", ErrBadName)
		trimmed := strings.TrimSpace(in)
		valid := trimmed != "" && utf8.RuneCountInString(trimmed) <= maxRunes && utf8.ValidString(trimmed) &&
			!strings.ContainsFunc(trimmed, notInLine)
		switch {
		case valid && (err != nil || got != trimmed):
			t.Fatalf("cleanLine(%q) = %q, %v; want %q", in, got, err, trimmed)
		case !valid && !errors.Is(err, ErrBadName):
			t.Fatalf("cleanLine(%q) = %q, %v; want ErrBadName", in, got, err)
		}
	})
}

// FuzzFileLabel checks the display name of uploaded files on arbitrary
// client file names: never empty, at most MaxFileLabel runes, valid UTF-8,
// no control or format characters, and unchanged when the name is short
// and clean.
func FuzzFileLabel(f *testing.F) {
	for _, s := range []string{"cat.png", "", "  ", "a\x00b", "evil\u202egnp.exe", "\xff\xfe", strings.Repeat("ж", 100),
		"zero\u200bwidth", "line\u2028break"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := fileLabel(name)
		if got == "" || !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxFileLabel {
			t.Fatalf("fileLabel(%q) = %q: empty, invalid or too long", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("fileLabel(%q) = %q keeps %U", name, got, r)
			}
		}
		trimmed := strings.TrimSpace(name)
		clean := trimmed != "" && utf8.ValidString(trimmed) && utf8.RuneCountInString(trimmed) <= MaxFileLabel &&
			!strings.ContainsFunc(trimmed, func(r rune) bool {
				return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
			})
		if clean && got != trimmed {
			t.Fatalf("fileLabel(%q) = %q, want it unchanged", name, got)
		}
	})
}
