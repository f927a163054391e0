package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	live "github.com/live-go/live"
)

// LobbyRoom is the id of the untyped room every Chat that has a name joins.
const LobbyRoom = "lobby"

// Limits of the Chat.
const (
	// MaxChatName is the longest chat name, in characters (runes), after
	// surrounding white space is trimmed.
	MaxChatName = 24
	// MaxChatText is the longest chat message, in characters (runes), after
	// surrounding white space is trimmed.
	MaxChatText = 280
	// ChatHistory is how many recent messages the lobby keeps and every
	// Chat shows.
	ChatHistory = 50
	// MaxChatMembersShown caps Chat.Members; Chat.Online still counts
	// everyone.
	MaxChatMembersShown = 50
	// ChatRateLimit is how many Chat actions one connection may call per
	// ChatRateWindow.
	ChatRateLimit = 20
	// ChatRateWindow is the window of ChatRateLimit.
	ChatRateWindow = 10 * time.Second
)

// Room events the Chat instances exchange through the lobby. They carry
// no data the receivers trust: clients can emit into a room their
// component is in, so a receiver only re-reads the server's own records.
const (
	eventPresence = "presence"
	eventMessage  = "message"
)

// Errors returned (wrapped in a *live.Error, whose message is what the
// client sees) by the Chat actions. Match them with errors.Is.
var (
	// ErrBadName rejects a chat name that is empty, too long or holds
	// control characters.
	ErrBadName = errors.New("demo: invalid chat name")
	// ErrBadMessage rejects a chat message that is empty, too long or
	// holds control characters.
	ErrBadMessage = errors.New("demo: invalid chat message")
	// ErrNotJoined rejects a message sent before join.
	ErrNotJoined = errors.New("demo: not in the chat")
)

// ChatMessage is one message of the lobby.
type ChatMessage struct {
	// ID increases with every message of the server.
	ID int `json:"id"`
	// From is the sender's chat name.
	From string `json:"from"`
	// Text is the message.
	Text string `json:"text"`
	// At is when the server received it, in Unix milliseconds.
	At int64 `json:"at"`
}

// Chat is one tab's seat in the lobby chat: a per-connection component that
// joins the untyped room LobbyRoom server-side once it has a name. Messages
// are kept by the server (the last ChatHistory) and room events tell every
// member to refresh, so all tabs show the same history and the same member
// list, which follows connections: a closed tab leaves the list at once.
//
// After a server restart the client rehydrates its Chat from the signed
// state: the name comes back, the Chat joins the lobby again, and the
// first Chat to come back restores the history it carried.
type Chat struct {
	live.Base
	// Name is this tab's chat name; "" until join.
	Name string `json:"name"`
	// Online is the number of named members in the lobby.
	Online int `json:"online"`
	// Members are the names of the lobby's members in join order (at most
	// MaxChatMembersShown; names may repeat).
	Members []string `json:"members"`
	// Messages are the lobby's recent messages, oldest first.
	Messages []ChatMessage `json:"messages"`

	hub       *chatHub // server-only: shared by the server's Chats
	joining   bool     // inside enterLobby: OnRoomJoin leaves the follow-up to it
	listening bool     // the room handlers are registered
}

var (
	_ live.MountHook     = (*Chat)(nil)
	_ live.RehydrateHook = (*Chat)(nil)
	_ live.RoomJoinHook  = (*Chat)(nil)
	_ live.RoomLeaveHook = (*Chat)(nil)
	_ live.DestroyHook   = (*Chat)(nil)
)

// JoinChatArgs is the payload of join.
type JoinChatArgs struct {
	Name string `json:"name"`
}

// SendChatArgs is the payload of send.
type SendChatArgs struct {
	Text string `json:"text"`
}

// JoinResult is the result of join.
type JoinResult struct {
	// Name is the name as stored (trimmed).
	Name string `json:"name"`
	// Online is the number of named members, this one included.
	Online int `json:"online"`
}

// Join sets the chat name (trimmed, 1 to MaxChatName characters, no control
// characters) and enters the lobby; on a Chat already in it, it renames.
func (c *Chat) Join(_ *live.Ctx, p JoinChatArgs) (JoinResult, error) {
	name, err := cleanLine(p.Name, MaxChatName, "name", ErrBadName)
	if err != nil {
		return JoinResult{}, err
	}
	c.Name = name
	if err := c.enterLobby(); err != nil {
		return JoinResult{}, &live.Error{Message: "could not join the chat", Err: err}
	}
	return JoinResult{Name: c.Name, Online: c.Online}, nil
}

// Send posts a message (trimmed, 1 to MaxChatText characters, no control
// characters) to the lobby under the Chat's name and returns it.
func (c *Chat) Send(_ *live.Ctx, p SendChatArgs) (ChatMessage, error) {
	if c.Name == "" || !c.listening {
		return ChatMessage{}, &live.Error{Message: "join the chat first", Err: ErrNotJoined}
	}
	text, err := cleanLine(p.Text, MaxChatText, "message", ErrBadMessage)
	if err != nil {
		return ChatMessage{}, err
	}
	m := c.hub.post(c.Name, text, time.Now())
	c.Messages = c.hub.recent()
	if err := c.JoinRoom(LobbyRoom).Emit(eventMessage, m.ID); err != nil {
		return ChatMessage{}, fmt.Errorf("demo: chat: %w", err)
	}
	return m, nil
}

// OnRehydrate runs when a client brings its Chat back from a signed state
// (typically after a server restart): if the server has no history yet, the
// Chat's messages become the history.
func (c *Chat) OnRehydrate(*live.Ctx, json.RawMessage) {
	c.hub.seed(c.Messages)
}

// OnMount enters the lobby when the Chat already has a name, that is when
// it was rehydrated.
func (c *Chat) OnMount(*live.Ctx) error {
	if c.Name == "" {
		return nil
	}
	if err := c.enterLobby(); err != nil {
		return fmt.Errorf("demo: chat: %w", err)
	}
	return nil
}

// OnRoomJoin runs when the Chat joined a room. Joins made by enterLobby
// need nothing more; a join by the engine (the client resumed after a
// dropped connection) lost the room handlers and is completed in the
// background, since this hook runs with the room locked.
func (c *Chat) OnRoomJoin(_ *live.Ctx, roomID string) {
	if roomID != LobbyRoom || c.joining {
		return
	}
	c.listening = false
	c.hub.background(func() {
		_ = c.Update(func() { _ = c.enterLobby() }) // ErrDestroyed: nothing to do
	})
}

// OnRoomLeave runs when the Chat left a room (its connection closed, or it
// was destroyed): the lobby's other members are told to refresh their
// member lists.
func (c *Chat) OnRoomLeave(_ *live.Ctx, roomID, _ string) {
	if roomID != LobbyRoom {
		return
	}
	c.listening = false
	c.hub.announce()
}

// OnDestroy forgets the Chat's name.
func (c *Chat) OnDestroy() {
	c.hub.forget(c.ID())
}

// enterLobby joins the lobby (if not yet a member), registers the room
// handlers, records the name, refreshes this Chat and tells the others.
// Called with the component locked (action, hook or Update).
func (c *Chat) enterLobby() error {
	room := c.JoinRoom(LobbyRoom)
	c.joining = true
	err := room.Join(nil, live.ServerOnlyState())
	c.joining = false
	if err != nil {
		return fmt.Errorf("join %s: %w", LobbyRoom, err)
	}
	if !c.listening {
		if _, err := room.On(eventPresence, func(*live.Ctx, json.RawMessage) { c.refreshMembers() }); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		if _, err := room.On(eventMessage, func(*live.Ctx, json.RawMessage) { c.Messages = c.hub.recent() }); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		c.listening = true
	}
	c.hub.setName(c.ID(), c.Name)
	c.Messages = c.hub.recent()
	c.refreshMembers()
	if err := room.Emit(eventPresence, nil); err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	return nil
}

// refreshMembers rebuilds Members and Online from the lobby's presence
// list. Called with the component locked.
func (c *Chat) refreshMembers() {
	members, err := c.JoinRoom(LobbyRoom).Members()
	if err != nil { // not a member (any more)
		c.Members, c.Online = []string{}, 0
		return
	}
	c.Members, c.Online = c.hub.names(members)
}

// chatHub is what a server's Chats share: the message history and the
// names of the lobby's members.
type chatHub struct {
	srv *live.Server

	mu      sync.Mutex
	byID    map[string]string // component id -> chat name
	history []ChatMessage     // the last ChatHistory messages
	lastID  int

	wg sync.WaitGroup // background tasks (see background)
}

func newChatHub(srv *live.Server) *chatHub {
	return &chatHub{srv: srv, byID: map[string]string{}}
}

// newChat returns a Chat of the hub with empty (non-nil) lists.
func (h *chatHub) newChat() *Chat {
	return &Chat{Members: []string{}, Messages: []ChatMessage{}, hub: h}
}

func (h *chatHub) setName(id, name string) {
	h.mu.Lock()
	h.byID[id] = name
	h.mu.Unlock()
}

func (h *chatHub) forget(id string) {
	h.mu.Lock()
	delete(h.byID, id)
	h.mu.Unlock()
}

// names maps the lobby's members to their chat names, skipping members
// without one (components of other kinds a client made join the lobby).
// It returns at most MaxChatMembersShown names and the count of all.
func (h *chatHub) names(members []live.Member) ([]string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, min(len(members), MaxChatMembersShown))
	n := 0
	for _, m := range members {
		name, ok := h.byID[m.ComponentID]
		if !ok {
			continue
		}
		n++
		if len(out) < MaxChatMembersShown {
			out = append(out, name)
		}
	}
	return out, n
}

// post appends a message to the history and returns it.
func (h *chatHub) post(from, text string, at time.Time) ChatMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastID++
	m := ChatMessage{ID: h.lastID, From: from, Text: text, At: at.UnixMilli()}
	h.history = append(h.history, m)
	if n := len(h.history); n > ChatHistory {
		h.history = slices.Delete(h.history, 0, n-ChatHistory)
	}
	return m
}

// recent returns a copy of the history (never nil).
func (h *chatHub) recent() []ChatMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append(make([]ChatMessage, 0, len(h.history)), h.history...)
}

// seed makes msgs (from a signed state, so written by a server with the
// same secret) the history if there is none yet.
func (h *chatHub) seed(msgs []ChatMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.history) > 0 || len(msgs) == 0 {
		return
	}
	if n := len(msgs); n > ChatHistory {
		msgs = msgs[n-ChatHistory:]
	}
	h.history = slices.Clone(msgs)
	for _, m := range msgs {
		h.lastID = max(h.lastID, m.ID)
	}
}

// announce tells the lobby's members to refresh their member lists. It
// must not be called with the lobby locked (OnRoomJoin).
func (h *chatHub) announce() {
	if h.srv == nil {
		return
	}
	_, _ = h.srv.EmitToRoom(LobbyRoom, eventPresence, nil) // the data is nil: cannot fail to encode
}

// background runs fn on a new goroutine tracked by h.wg.
func (h *chatHub) background(fn func()) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn()
	}()
}

// cleanLine trims s and checks that it is 1 to maxRunes characters without
// control characters. what names the value in the client's error message;
// sentinel is the error it wraps.
func cleanLine(s string, maxRunes int, what string, sentinel error) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", &live.Error{Message: fmt.Sprintf("the %s must not be empty", what), Err: sentinel}
	case len(s) > maxRunes*utf8.UTFMax || utf8.RuneCountInString(s) > maxRunes:
		return "", &live.Error{Message: fmt.Sprintf("the %s must be at most %d characters", what, maxRunes), Err: sentinel}
	case strings.ContainsFunc(s, notInLine) || !utf8.ValidString(s):
		return "", &live.Error{Message: fmt.Sprintf("the %s must be one line of text", what), Err: sentinel}
	}
	return s, nil
}

// notInLine reports whether r has no place in one line of chat text:
// control characters and the line and paragraph separators.
func notInLine(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
