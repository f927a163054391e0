package clusterapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

func newTestServer(t *testing.T) *livetest.Server {
	t.Helper()
	return livetest.NewServer(t, live.Options{StateSecret: []byte(strings.Repeat("s", MinSecret)),
		AuthProviders: []live.AuthProvider{lobbyGuard{}}}, Register)
}

func TestCounter(t *testing.T) {
	s := newTestServer(t)
	a := s.Connect().Mount(CounterName, nil)
	b := s.Connect().Mount(CounterName, nil)
	for _, step := range []struct {
		action string
		want   int
	}{{"increment", 1}, {"increment", 2}, {"decrement", 1}} {
		if got := string(a.MustCall(step.action, nil)); got != fmt.Sprint(step.want) {
			t.Fatalf("%s returned %s, want %d", step.action, got, step.want)
		}
	}
	var ca, cb Counter
	a.Decode(&ca)
	b.Decode(&cb)
	if ca.Count != 1 || cb.Count != 0 {
		t.Fatalf("counts %d and %d, want 1 and 0 (one Counter per connection)", ca.Count, cb.Count)
	}
}

func TestSharedCounterBump(t *testing.T) {
	type step struct {
		args    BumpArgs
		want    BumpResult
		wantErr error
	}
	tests := []struct {
		name      string
		steps     []step
		wantCount int
		wantLast  map[string]int
		wantDups  int
	}{
		{
			name:      "anonymous bumps count",
			steps:     []step{{args: BumpArgs{}, want: BumpResult{Count: 1, Applied: true}}, {args: BumpArgs{}, want: BumpResult{Count: 2, Applied: true}}},
			wantCount: 2, wantLast: map[string]int{},
		},
		{
			name: "sequences apply once, in order",
			steps: []step{
				{args: BumpArgs{Client: "a", Seq: 1}, want: BumpResult{Count: 1, Applied: true}},
				{args: BumpArgs{Client: "b", Seq: 1}, want: BumpResult{Count: 2, Applied: true}},
				{args: BumpArgs{Client: "a", Seq: 2}, want: BumpResult{Count: 3, Applied: true}},
				{args: BumpArgs{Client: "a", Seq: 2}, want: BumpResult{Count: 3}}, // a retry
				{args: BumpArgs{Client: "a", Seq: 1}, want: BumpResult{Count: 3}}, // an old retry
			},
			wantCount: 3, wantLast: map[string]int{"a": 2, "b": 1}, wantDups: 2,
		},
		{
			name: "a skipped sequence number is refused",
			steps: []step{
				{args: BumpArgs{Client: "a", Seq: 1}, want: BumpResult{Count: 1, Applied: true}},
				{args: BumpArgs{Client: "a", Seq: 3}, wantErr: ErrSeqGap},
				{args: BumpArgs{Client: "new", Seq: 2}, wantErr: ErrSeqGap},
			},
			wantCount: 1, wantLast: map[string]int{"a": 1},
		},
		{
			name: "malformed ids and sequences are refused",
			steps: []step{
				{args: BumpArgs{Client: "a"}, wantErr: ErrBadClient},
				{args: BumpArgs{Seq: 1}, wantErr: ErrBadClient},
				{args: BumpArgs{Client: "a b", Seq: 1}, wantErr: ErrBadClient},
				{args: BumpArgs{Client: strings.Repeat("x", MaxClientID+1), Seq: 1}, wantErr: ErrBadClient},
				{args: BumpArgs{Client: "a", Seq: -1}, wantErr: ErrBadClient},
			},
			wantLast: map[string]int{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &SharedCounter{Last: map[string]int{}}
			for i, st := range tt.steps {
				var (
					got BumpResult
					err = st.args.Validate()
				)
				if err == nil {
					got, err = c.Bump(nil, st.args)
				}
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d %+v: error %v, want %v", i, st.args, err, st.wantErr)
				}
				if err == nil && got != st.want {
					t.Fatalf("step %d %+v: %+v, want %+v", i, st.args, got, st.want)
				}
			}
			if c.Count != tt.wantCount || c.Duplicates != tt.wantDups {
				t.Errorf("count %d duplicates %d, want %d and %d", c.Count, c.Duplicates, tt.wantCount, tt.wantDups)
			}
			if diff := cmp.Diff(tt.wantLast, c.Last); diff != "" {
				t.Errorf("last (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSharedCounterClientLimit(t *testing.T) {
	c := &SharedCounter{}
	for i := range MaxCounterClients {
		if _, err := c.Bump(nil, BumpArgs{Client: fmt.Sprint("c", i), Seq: 1}); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if _, err := c.Bump(nil, BumpArgs{Client: "one-more", Seq: 1}); !errors.Is(err, ErrTooManyClients) {
		t.Fatalf("client %d: error %v, want ErrTooManyClients", MaxCounterClients+1, err)
	}
	if _, err := c.Bump(nil, BumpArgs{Client: "c0", Seq: 2}); err != nil {
		t.Fatalf("a known client past the limit: %v", err)
	}
}

// The SharedCounter is one instance for every connection, through the
// server's validation of payloads.
func TestSharedCounterIsShared(t *testing.T) {
	s := newTestServer(t)
	a := s.Connect().Mount(SharedCounterName, nil)
	b := s.Connect().Mount(SharedCounterName, nil)
	a.MustCall("bump", BumpArgs{Client: "a", Seq: 1})
	b.MustCall("bump", nil)
	if _, err := b.Call("bump", map[string]any{"client": "a", "seq": 1, "extra": true}); err == nil {
		t.Fatal("a payload with an unknown field was accepted")
	}
	if _, err := b.Call("bump", BumpArgs{Client: "a", Seq: 5}); err == nil || !strings.Contains(err.Error(), "sequence gap") {
		t.Fatalf("gap: %v", err)
	}
	s.Sync()
	var got SharedCounter
	a.Decode(&got)
	if got.Count != 2 || got.Last["a"] != 1 {
		t.Fatalf("state seen by a: %+v", got)
	}
}

func TestTodoList(t *testing.T) {
	tests := []struct {
		name    string
		run     func(l *TodoList) error
		want    []Todo
		wantErr error
	}{
		{
			name: "add trims and numbers",
			run: func(l *TodoList) error {
				_, err1 := l.AddTodo(nil, TextArgs{Text: "  milk "})
				_, err2 := l.AddTodo(nil, TextArgs{Text: "eggs"})
				return errors.Join(err1, err2)
			},
			want: []Todo{{ID: 1, Text: "milk"}, {ID: 2, Text: "eggs"}},
		},
		{
			name: "toggle and remove",
			run: func(l *TodoList) error {
				_, _ = l.AddTodo(nil, TextArgs{Text: "a"})
				_, _ = l.AddTodo(nil, TextArgs{Text: "b"})
				_, _ = l.AddTodo(nil, TextArgs{Text: "c"})
				if _, err := l.ToggleTodo(nil, IDArgs{ID: 3}); err != nil {
					return err
				}
				return l.RemoveTodo(nil, IDArgs{ID: 1})
			},
			want: []Todo{{ID: 2, Text: "b"}, {ID: 3, Text: "c", Done: true}},
		},
		{
			name: "ids are not reused after clearDone",
			run: func(l *TodoList) error {
				_, _ = l.AddTodo(nil, TextArgs{Text: "a"})
				_, _ = l.ToggleTodo(nil, IDArgs{ID: 1})
				if n, _ := l.ClearDone(nil); n != 1 {
					return fmt.Errorf("cleared %d", n)
				}
				_, err := l.AddTodo(nil, TextArgs{Text: "b"})
				return err
			},
			want: []Todo{{ID: 2, Text: "b"}},
		},
		{
			name:    "unknown id",
			run:     func(l *TodoList) error { _, err := l.ToggleTodo(nil, IDArgs{ID: 9}); return err },
			want:    []Todo{},
			wantErr: ErrNoSuchTodo,
		},
		{
			name:    "empty text",
			run:     func(l *TodoList) error { _, err := l.AddTodo(nil, TextArgs{Text: " \t "}); return err },
			want:    []Todo{},
			wantErr: ErrBadText,
		},
		{
			name: "full list",
			run: func(l *TodoList) error {
				for i := range MaxTodos + 1 {
					if _, err := l.AddTodo(nil, TextArgs{Text: fmt.Sprint("t", i)}); err != nil {
						l.Todos = l.Todos[:0]
						return err
					}
				}
				return nil
			},
			want:    []Todo{},
			wantErr: ErrListFull,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &TodoList{Todos: []Todo{}, NextID: 1}
			if err := tt.run(l); !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, l.Todos); diff != "" {
				t.Errorf("todos (-want +got):\n%s", diff)
			}
		})
	}
}

// A TodoList restored from a mirrored state whose nextId is stale (or
// missing) never hands out an id that is in the list.
func TestTodoListRestoredIDs(t *testing.T) {
	l := &TodoList{Todos: []Todo{{ID: 7, Text: "x"}}}
	td, err := l.AddTodo(nil, TextArgs{Text: "y"})
	if err != nil || td.ID != 8 {
		t.Fatalf("AddTodo = %+v, %v; want id 8", td, err)
	}
}

func TestChat(t *testing.T) {
	s := newTestServer(t)
	a := s.Connect().Mount(ChatName, nil)
	b := s.Connect().Mount(ChatName, nil)
	if _, err := a.Call("send", TextArgs{Text: "too early"}); err == nil || !strings.Contains(err.Error(), "join the chat first") {
		t.Fatalf("send before join: %v", err)
	}
	if _, err := a.Call("join", NameArgs{Name: "\x07"}); err == nil {
		t.Fatal("a control character in a name was accepted")
	}
	if got := string(a.MustCall("join", NameArgs{Name: " ann "})); got != `"ann"` {
		t.Fatalf("join returned %s", got)
	}
	b.MustCall("join", NameArgs{Name: "bob"})
	for i := range ChatHistory + 3 {
		a.MustCall("send", TextArgs{Text: fmt.Sprint("m", i)})
	}
	b.MustCall("send", TextArgs{Text: "last"})
	st, err := b.Room(LobbyRoom).State()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	var lobby map[string]ChatLine
	if err := json.Unmarshal(raw, &lobby); err != nil {
		t.Fatal(err)
	}
	if len(lobby) != ChatHistory {
		t.Fatalf("%d messages kept, want %d", len(lobby), ChatHistory)
	}
	var texts []string
	for _, m := range lobby {
		if m.From == "" || m.At == 0 || m.ID == "" {
			t.Fatalf("message %+v", m)
		}
		texts = append(texts, m.ID+" "+m.From+" "+m.Text)
	}
	slices.Sort(texts)
	if !strings.HasSuffix(texts[0], " ann m4") || !strings.HasSuffix(texts[len(texts)-1], " bob last") {
		t.Fatalf("kept %q ... %q, want m4 ... last", texts[0], texts[len(texts)-1])
	}
	// Clients cannot write the lobby's state, nor join it themselves.
	if err := b.Room(LobbyRoom).SetState(map[string]any{"messages": map[string]any{"x": 1}}); err == nil {
		t.Fatal("a client wrote the lobby's state")
	}
	c := s.Connect().Mount(CounterName, nil)
	if err := c.Room(LobbyRoom).Join(nil); err == nil {
		t.Fatal("a client joined the lobby with ROOM_JOIN")
	}
	if err := c.Room("elsewhere").Join(nil); err != nil {
		t.Fatalf("ROOM_JOIN of another room: %v", err)
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"  hi ", "hi", true},
		{"héllo wö", "héllo wö", true},
		{"", "", false},
		{" \n\t", "", false},
		{"a\x00b", "", false},
		{"a\u0085b", "", false}, // C1 control
		{"\xff", "", false},
		{strings.Repeat("é", 10), strings.Repeat("é", 10), true},
		{strings.Repeat("é", 11), "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := cleanText(tt.in, 10)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("cleanText(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadText) {
				t.Fatalf("error %v does not match ErrBadText", err)
			}
		})
	}
}

func TestPickSlot(t *testing.T) {
	full := map[string]any{}
	for i := range ChatHistory {
		full[slotName(i)] = ChatLine{ID: fmt.Sprintf("%03d", 100-i)}
	}
	withHole := map[string]any{}
	for k, v := range full {
		withHole[k] = v
	}
	withHole["m07"] = nil
	garbage := map[string]any{}
	for k, v := range full {
		garbage[k] = v
	}
	garbage["m09"] = []int{1}
	tests := []struct {
		name  string
		state any
		want  string
	}{
		{"empty", map[string]any{}, "m00"},
		{"first free", map[string]any{"m00": ChatLine{ID: "1"}, "other": 1}, "m01"},
		{"full: the oldest", full, slotName(ChatHistory - 1)},
		{"a null slot is free", withHole, "m07"},
		{"an unreadable slot is free", garbage, "m09"},
		{"not an object", []int{1, 2}, "m00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.state)
			if got := pickSlot(b); got != tt.want {
				t.Errorf("pickSlot = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessageIDsSortByTime(t *testing.T) {
	a := messageID(time.UnixMilli(999))
	b := messageID(time.UnixMilli(1000))
	c := messageID(time.UnixMilli(1_700_000_000_000))
	if !(a < b && b < c) || len(a) != len(c) {
		t.Fatalf("ids %q %q %q do not sort by time", a, b, c)
	}
}
