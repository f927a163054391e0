package demo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	live "github.com/live-go/live"
)

// Limits of the TodoList.
const (
	// MaxTodoText is the longest todo text, in characters (runes), after
	// surrounding white space is trimmed.
	MaxTodoText = 200
	// MaxTodos is the most todos the shared list holds.
	MaxTodos = 500
)

// Errors returned (wrapped in a *live.Error, whose message is what the
// client sees) by the TodoList actions. Match them with errors.Is.
var (
	// ErrEmptyText rejects a todo whose text is empty after trimming.
	ErrEmptyText = errors.New("demo: empty todo text")
	// ErrTextTooLong rejects a todo text longer than MaxTodoText.
	ErrTextTooLong = errors.New("demo: todo text too long")
	// ErrListFull rejects a todo added to a list of MaxTodos todos.
	ErrListFull = errors.New("demo: todo list full")
	// ErrNoSuchTodo rejects a toggle of an id that is not in the list.
	ErrNoSuchTodo = errors.New("demo: no such todo")
)

// Counter is a per-connection counter: every mount gets its own.
type Counter struct {
	live.Base
	// Count is the current value.
	Count int `json:"count"`
	// LastAction names the last action that ran ("increment",
	// "decrement" or "reset"); nil (JSON null) before the first one.
	LastAction *string `json:"lastAction"`
}

// CountResult is the result of every Counter action.
type CountResult struct {
	Success bool `json:"success"`
	Count   int  `json:"count"`
}

// Increment adds one to the count.
func (c *Counter) Increment(*live.Ctx) (CountResult, error) {
	c.Count++
	return c.done("increment"), nil
}

// Decrement subtracts one from the count.
func (c *Counter) Decrement(*live.Ctx) (CountResult, error) {
	c.Count--
	return c.done("decrement"), nil
}

// Reset sets the count to zero.
func (c *Counter) Reset(*live.Ctx) (CountResult, error) {
	c.Count = 0
	return c.done("reset"), nil
}

func (c *Counter) done(action string) CountResult {
	c.LastAction = &action
	return CountResult{Success: true, Count: c.Count}
}

// Todo is one entry of the TodoList.
type Todo struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// TodoList is the todo list shared by every connection (registered as a
// singleton). Todos are kept in ascending id order.
type TodoList struct {
	live.Base
	// Todos is the list, oldest first. Instances made by Register start
	// with a non-nil slice, so the state encodes as {"todos":[]}.
	Todos []Todo `json:"todos"`

	store *todoStore // server-only: survives the instance
}

var _ live.DestroyHook = (*TodoList)(nil)

// AddTodoArgs is the payload of addTodo.
type AddTodoArgs struct {
	Text string `json:"text"`
}

// ToggleTodoArgs is the payload of toggleTodo.
type ToggleTodoArgs struct {
	ID int `json:"id"`
}

// AddTodo appends a todo with the trimmed text (1 to MaxTodoText
// characters) and returns it. It fails when the list already holds MaxTodos
// todos.
func (t *TodoList) AddTodo(_ *live.Ctx, p AddTodoArgs) (Todo, error) {
	text, err := cleanText(p.Text)
	if err != nil {
		return Todo{}, err
	}
	if len(t.Todos) >= MaxTodos {
		return Todo{}, &live.Error{Message: fmt.Sprintf("the list is full (at most %d todos)", MaxTodos), Err: ErrListFull}
	}
	td := Todo{ID: t.nextID(), Text: text}
	t.Todos = append(t.Todos, td)
	return td, nil
}

// ToggleTodo flips the done flag of the todo with p.ID and returns the
// updated todo. An unknown id is an error.
func (t *TodoList) ToggleTodo(_ *live.Ctx, p ToggleTodoArgs) (Todo, error) {
	i, found := slices.BinarySearchFunc(t.Todos, p.ID, func(td Todo, id int) int {
		switch {
		case td.ID < id:
			return -1
		case td.ID > id:
			return 1
		}
		return 0
	})
	if !found {
		return Todo{}, &live.Error{Message: fmt.Sprintf("todo %d not found", p.ID), Err: ErrNoSuchTodo}
	}
	t.Todos[i].Done = !t.Todos[i].Done
	return t.Todos[i], nil
}

// cleanText trims s and checks its length.
func cleanText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &live.Error{Message: "todo text must not be empty", Err: ErrEmptyText}
	}
	// A rune is at most utf8.UTFMax bytes: longer strings need no count.
	if len(s) > MaxTodoText*utf8.UTFMax || utf8.RuneCountInString(s) > MaxTodoText {
		return "", &live.Error{Message: fmt.Sprintf("todo text must be at most %d characters", MaxTodoText), Err: ErrTextTooLong}
	}
	return s, nil
}

// nextID returns the id for a new todo: one more than any id handed out
// before by this server's store or present in the list (a list restored
// from a signed state after a restart may hold ids the store never saw).
func (t *TodoList) nextID() int {
	last := 0
	if n := len(t.Todos); n > 0 {
		last = t.Todos[n-1].ID
	}
	if t.store == nil {
		return last + 1
	}
	t.store.mu.Lock()
	defer t.store.mu.Unlock()
	t.store.lastID = max(t.store.lastID, last) + 1
	return t.store.lastID
}

// OnDestroy saves the list into the server's store, from which the next
// instance starts. The engine destroys the singleton when its last
// connection leaves (and on shutdown), and creates the next one only after
// this hook returned.
func (t *TodoList) OnDestroy() {
	if t.store == nil {
		return
	}
	t.store.mu.Lock()
	t.store.todos = slices.Clone(t.Todos)
	t.store.mu.Unlock()
}

// todoStore keeps the shared list of one server between TodoList
// instances: the singleton is destroyed when its last connection leaves,
// and the next mount starts from the stored list.
type todoStore struct {
	mu     sync.Mutex
	todos  []Todo
	lastID int // ids are never reused, even across instances
}

// newTodoList returns a TodoList seeded from the store.
func (s *todoStore) newTodoList() *TodoList {
	s.mu.Lock()
	defer s.mu.Unlock()
	todos := make([]Todo, len(s.todos))
	copy(todos, s.todos)
	return &TodoList{Todos: todos, store: s}
}

// registerComponents adds Counter (actions increment, decrement, reset),
// the singleton TodoList (addTodo, toggleTodo), Chat (join, send) and the
// singleton Gallery to s, with the stores given.
func registerComponents(s *live.Server, todos *todoStore, chat *chatHub, files *fileStore) error {
	if err := live.Register(s, live.Component[Counter]{
		Name:    "Counter",
		Actions: []string{"increment", "decrement", "reset"},
	}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := live.Register(s, live.Component[TodoList]{
		Name:      "TodoList",
		Actions:   []string{"addTodo", "toggleTodo"},
		Singleton: true,
		New:       todos.newTodoList,
	}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := live.Register(s, live.Component[Chat]{
		Name:            "Chat",
		Actions:         []string{"join", "send"},
		New:             chat.newChat,
		ActionRateLimit: &live.ActionRateLimit{MaxCalls: ChatRateLimit, Window: ChatRateWindow},
	}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := live.Register(s, live.Component[Gallery]{
		Name:      "Gallery",
		Singleton: true,
		New:       func() *Gallery { return &Gallery{Files: []GalleryFile{}, store: files} },
	}); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}
