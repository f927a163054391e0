package clusterapp

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	live "github.com/live-go/live"
)

// Component names, as clients mount them.
const (
	CounterName       = "Counter"
	SharedCounterName = "SharedCounter"
	TodoListName      = "TodoList"
	ChatName          = "Chat"
)

// SingletonNames returns the names of the singleton components, whose
// owner node Node.Status reports.
func SingletonNames() []string { return []string{SharedCounterName, TodoListName} }

// LobbyRoom is the untyped room every joined Chat is a member of, on every
// node.
const LobbyRoom = "lobby"

// Limits of the components. Every one bounds what an untrusted client can
// make the server store.
const (
	// MaxClientID is the longest SharedCounter client id, in bytes.
	MaxClientID = 32
	// MaxCounterClients is how many client ids the SharedCounter tracks.
	MaxCounterClients = 256
	// MaxTodoText is the longest todo text, in characters, after trimming.
	MaxTodoText = 120
	// MaxTodos is the most todos the shared list holds.
	MaxTodos = 100
	// MaxChatName is the longest chat name, in characters, after trimming.
	MaxChatName = 24
	// MaxChatText is the longest chat message, in characters, after
	// trimming.
	MaxChatText = 280
	// ChatHistory is how many recent messages the lobby's state keeps.
	ChatHistory = 50
)

// Errors of the components' actions, wrapped in a *live.Error whose message
// is what the client sees. Match them with errors.Is.
var (
	// ErrBadText rejects a text that is empty, too long or holds control
	// characters.
	ErrBadText = errors.New("clusterapp: invalid text")
	// ErrBadClient rejects a SharedCounter client id or sequence number
	// that is malformed.
	ErrBadClient = errors.New("clusterapp: invalid client id or sequence")
	// ErrSeqGap rejects a bump whose sequence number skips one: the
	// previous bump of that client was never applied.
	ErrSeqGap = errors.New("clusterapp: sequence gap")
	// ErrTooManyClients rejects a bump from a new client id once
	// MaxCounterClients ids are tracked.
	ErrTooManyClients = errors.New("clusterapp: too many counter clients")
	// ErrListFull rejects a todo added to a list of MaxTodos todos.
	ErrListFull = errors.New("clusterapp: todo list full")
	// ErrNoSuchTodo rejects an id that is not in the list.
	ErrNoSuchTodo = errors.New("clusterapp: no such todo")
	// ErrNotJoined rejects a chat message sent before join.
	ErrNotJoined = errors.New("clusterapp: not in the chat")
)

// ---- Counter ----

// Counter is a per-connection counter. Its state travels in the client's
// signed state, so it survives the death of the node that served it: the
// client rehydrates it on whichever node it reconnects to.
type Counter struct {
	live.Base
	// Count is the current value.
	Count int `json:"count"`
}

// Increment adds one and returns the new count.
func (c *Counter) Increment(*live.Ctx) (int, error) {
	c.Count++
	return c.Count, nil
}

// Decrement subtracts one and returns the new count.
func (c *Counter) Decrement(*live.Ctx) (int, error) {
	c.Count--
	return c.Count, nil
}

// ---- SharedCounter ----

// SharedCounter is a counter shared by every connection of every node
// (a singleton): its actions run on the node that owns it, whichever node
// the caller is connected to.
//
// A bump may carry a client id and a per-client sequence number. The
// counter then applies each (client, seq) once and in order: a repeated
// sequence number is answered without counting again, and a skipped one
// is refused. A client that retries a bump whose reply it never got (its
// node died) can therefore not count twice, and an acknowledged bump that
// the cluster lost shows up as ErrSeqGap on the client's next bump.
type SharedCounter struct {
	live.Base
	// Count is the number of bumps applied.
	Count int `json:"count"`
	// Last holds, per client id, the sequence number of its last applied
	// bump.
	Last map[string]int `json:"last"`
	// Duplicates counts bumps that repeated an applied sequence number
	// (retries of bumps whose reply was lost).
	Duplicates int `json:"duplicates"`
}

// BumpArgs is the payload of bump. Both fields are optional, but go
// together.
type BumpArgs struct {
	// Client identifies the caller: 1 to MaxClientID bytes of
	// [A-Za-z0-9_-].
	Client string `json:"client,omitempty"`
	// Seq is the caller's sequence number, from 1, one more per bump.
	Seq int `json:"seq,omitempty"`
}

// Validate checks the client id and sequence number.
func (a BumpArgs) Validate() error {
	if a.Client == "" && a.Seq == 0 {
		return nil
	}
	if a.Seq < 1 || !validName(a.Client, MaxClientID) {
		return &live.Error{Message: fmt.Sprintf("client must be 1 to %d characters of A-Z a-z 0-9 _ - and seq at least 1", MaxClientID), Err: ErrBadClient}
	}
	return nil
}

// validName reports whether s is 1 to maxLen bytes of [A-Za-z0-9_-].
func validName(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// BumpResult is the result of bump.
type BumpResult struct {
	// Count is the counter after the bump.
	Count int `json:"count"`
	// Applied is false when the bump repeated an applied sequence number.
	Applied bool `json:"applied"`
}

// Bump adds one to the counter (see SharedCounter for client ids and
// sequence numbers).
func (c *SharedCounter) Bump(_ *live.Ctx, p BumpArgs) (BumpResult, error) {
	if p.Client == "" {
		c.Count++
		return BumpResult{Count: c.Count, Applied: true}, nil
	}
	last, known := c.Last[p.Client]
	switch {
	case p.Seq <= last:
		c.Duplicates++
		return BumpResult{Count: c.Count}, nil
	case p.Seq > last+1:
		return BumpResult{}, &live.Error{Message: fmt.Sprintf("sequence gap for %s: got %d, want %d", p.Client, p.Seq, last+1), Err: ErrSeqGap}
	case !known && len(c.Last) >= MaxCounterClients:
		return BumpResult{}, &live.Error{Message: fmt.Sprintf("at most %d counter clients", MaxCounterClients), Err: ErrTooManyClients}
	}
	if c.Last == nil {
		c.Last = map[string]int{}
	}
	c.Last[p.Client] = p.Seq
	c.Count++
	return BumpResult{Count: c.Count, Applied: true}, nil
}

// ---- TodoList ----

// Todo is one entry of the TodoList.
type Todo struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
	Done bool   `json:"done"`
}

// TodoList is the todo list shared by every connection of every node (a
// singleton). All of its state is public, so the state its owner mirrors
// to the cluster store is all a new owner needs.
type TodoList struct {
	live.Base
	// Todos is the list in ascending id order.
	Todos []Todo `json:"todos"`
	// NextID is the id of the next todo; ids are never reused.
	NextID int `json:"nextId"`
}

// TextArgs is the payload of the actions that take a text.
type TextArgs struct {
	Text string `json:"text"`
}

// IDArgs is the payload of the actions that take a todo id.
type IDArgs struct {
	ID int `json:"id"`
}

// AddTodo appends a todo with the trimmed text (1 to MaxTodoText
// characters, no control characters) and returns it.
func (t *TodoList) AddTodo(_ *live.Ctx, p TextArgs) (Todo, error) {
	text, err := cleanText(p.Text, MaxTodoText)
	if err != nil {
		return Todo{}, err
	}
	if len(t.Todos) >= MaxTodos {
		return Todo{}, &live.Error{Message: fmt.Sprintf("the list is full (at most %d todos)", MaxTodos), Err: ErrListFull}
	}
	if t.NextID < 1 {
		t.NextID = 1
	}
	if n := len(t.Todos); n > 0 && t.Todos[n-1].ID >= t.NextID {
		t.NextID = t.Todos[n-1].ID + 1
	}
	td := Todo{ID: t.NextID, Text: text}
	t.NextID++
	t.Todos = append(t.Todos, td)
	return td, nil
}

// ToggleTodo flips the done flag of the todo p.ID and returns it.
func (t *TodoList) ToggleTodo(_ *live.Ctx, p IDArgs) (Todo, error) {
	i, err := t.find(p.ID)
	if err != nil {
		return Todo{}, err
	}
	t.Todos[i].Done = !t.Todos[i].Done
	return t.Todos[i], nil
}

// RemoveTodo deletes the todo p.ID.
func (t *TodoList) RemoveTodo(_ *live.Ctx, p IDArgs) error {
	i, err := t.find(p.ID)
	if err != nil {
		return err
	}
	t.Todos = slices.Delete(t.Todos, i, i+1)
	return nil
}

// ClearDone deletes the done todos and returns how many it deleted.
func (t *TodoList) ClearDone(*live.Ctx) (int, error) {
	before := len(t.Todos)
	t.Todos = slices.DeleteFunc(t.Todos, func(td Todo) bool { return td.Done })
	return before - len(t.Todos), nil
}

func (t *TodoList) find(id int) (int, error) {
	i := slices.IndexFunc(t.Todos, func(td Todo) bool { return td.ID == id })
	if i < 0 {
		return 0, &live.Error{Message: fmt.Sprintf("todo %d not found", id), Err: ErrNoSuchTodo}
	}
	return i, nil
}

// ---- Chat ----

// Chat is one connection's seat in the lobby chat. Once it has a name it is
// a member of the untyped room LobbyRoom, whose state holds the recent
// messages in ChatHistory slots (keys "m00" to "m49"): a message goes to an
// empty slot or replaces the oldest one, so the state stays bounded, and
// messages written at once on several nodes land in separate keys (unless
// two nodes pick the same slot in the same instant: the room's ordered
// state writes then keep the later one). Clients read the lobby through
// their room handle: its state, and its member count, which spans every
// node.
type Chat struct {
	live.Base
	// Name is the chat name; "" until join.
	Name string `json:"name"`
}

var _ live.MountHook = (*Chat)(nil)

// NameArgs is the payload of join.
type NameArgs struct {
	Name string `json:"name"`
}

// ChatLine is one message in the lobby's state.
type ChatLine struct {
	// ID sorts by time (see Send).
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
	// At is when the server received it, in Unix milliseconds.
	At int64 `json:"at"`
}

// Join sets the chat name (1 to MaxChatName characters, no control
// characters) and enters the lobby; on a Chat already in it, it renames.
func (c *Chat) Join(_ *live.Ctx, p NameArgs) (string, error) {
	name, err := cleanText(p.Name, MaxChatName)
	if err != nil {
		return "", err
	}
	c.Name = name
	if err := c.enter(); err != nil {
		return "", err
	}
	return c.Name, nil
}

// OnMount enters the lobby again when the Chat came back from a signed
// state with a name (its client reconnected, possibly to another node).
func (c *Chat) OnMount(*live.Ctx) error {
	if c.Name == "" {
		return nil
	}
	return c.enter()
}

func (c *Chat) enter() error {
	// Server-only state: clients read the history but only the Chat
	// component writes it.
	if err := c.JoinRoom(LobbyRoom).Join(nil, live.ServerOnlyState()); err != nil {
		return fmt.Errorf("clusterapp: join the lobby: %w", err)
	}
	return nil
}

// Send adds a message (1 to MaxChatText characters, no control characters)
// to the lobby's history under the Chat's name and returns its id.
func (c *Chat) Send(_ *live.Ctx, p TextArgs) (string, error) {
	if c.Name == "" {
		return "", &live.Error{Message: "join the chat first", Err: ErrNotJoined}
	}
	text, err := cleanText(p.Text, MaxChatText)
	if err != nil {
		return "", err
	}
	room := c.JoinRoom(LobbyRoom)
	state, err := room.State()
	if err != nil {
		return "", &live.Error{Message: "join the chat first", Err: errors.Join(ErrNotJoined, err)}
	}
	now := time.Now()
	line := ChatLine{ID: messageID(now), From: c.Name, Text: text, At: now.UnixMilli()}
	if err := room.SetState(map[string]any{pickSlot(state): line}); err != nil {
		return "", fmt.Errorf("clusterapp: chat: %w", err)
	}
	return line.ID, nil
}

// messageSeq orders the messages of one process within a millisecond.
var messageSeq atomic.Uint64

// messageID returns an id that sorts by time: the Unix milliseconds and a
// per-process sequence number, zero-padded, then random characters that
// keep ids from two nodes apart.
func messageID(t time.Time) string {
	return fmt.Sprintf("%013d-%010d-%s", max(t.UnixMilli(), 0), messageSeq.Add(1)%1e10, rand.Text()[:6])
}

// slotNames are the lobby state keys of the history slots.
var slotNames = func() (names [ChatHistory]string) {
	for i := range names {
		names[i] = fmt.Sprintf("m%02d", i)
	}
	return names
}()

// slotName returns the lobby state key of history slot i.
func slotName(i int) string { return slotNames[i] }

// pickSlot returns the history slot (of ChatHistory) for a new message,
// given the lobby's state as JSON: the first empty (or unreadable) slot,
// else the one holding the oldest message. A state that does not parse
// counts as empty. The state is bounded by the room's MaxRoomStateSize.
func pickSlot(state []byte) string {
	type line struct {
		ID string `json:"id"`
	}
	ids := map[string]string{} // slot → message id; "" when unreadable
	var fast map[string]*line
	if json.Unmarshal(state, &fast) == nil {
		for k, l := range fast {
			if l != nil {
				ids[k] = l.ID
			}
		}
	} else {
		// Some value is not an object: read the slots one by one.
		var st map[string]json.RawMessage
		_ = json.Unmarshal(state, &st)
		for k, raw := range st {
			var l line
			if json.Unmarshal(raw, &l) == nil {
				ids[k] = l.ID
			}
		}
	}
	best, bestID := "", ""
	for i := range ChatHistory {
		k := slotName(i)
		id := ids[k]
		if id == "" {
			return k
		}
		if best == "" || id < bestID {
			best, bestID = k, id
		}
	}
	return best
}

// cleanText trims s and checks that it has 1 to maxRunes characters and no
// control or invalid characters.
func cleanText(s string, maxRunes int) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) error {
		return &live.Error{Message: fmt.Sprintf("text must %s", why), Err: ErrBadText}
	}
	if s == "" {
		return "", bad("not be empty")
	}
	// A character is at most utf8.UTFMax bytes: longer strings need no
	// count.
	if len(s) > maxRunes*utf8.UTFMax || utf8.RuneCountInString(s) > maxRunes {
		return "", bad(fmt.Sprintf("be at most %d characters", maxRunes))
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", bad("be valid UTF-8 without control characters")
	}
	return s, nil
}
