package demo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

func TestCleanLine(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    string
		wantMsg string // "" when accepted
	}{
		{name: "plain", in: "alice", max: 24, want: "alice"},
		{name: "trimmed", in: " \t alice \n", max: 24, want: "alice"},
		{name: "inner spaces kept", in: "a  b", max: 24, want: "a  b"},
		{name: "exactly max runes", in: strings.Repeat("é", 24), max: 24, want: strings.Repeat("é", 24)},
		{name: "emoji", in: "🙂 hi", max: 24, want: "🙂 hi"},
		{name: "empty", in: "", max: 24, wantMsg: "the name must not be empty"},
		{name: "only space", in: "\u00a0\u3000 ", max: 24, wantMsg: "the name must not be empty"},
		{name: "one rune too many", in: strings.Repeat("é", 25), max: 24, wantMsg: "the name must be at most 24 characters"},
		{name: "megabyte", in: strings.Repeat("x", 1<<20), max: 24, wantMsg: "the name must be at most 24 characters"},
		{name: "newline", in: "a\nb", max: 24, wantMsg: "the name must be one line of text"},
		{name: "tab inside", in: "a\tb", max: 24, wantMsg: "the name must be one line of text"},
		{name: "escape", in: "\x1b[2J", max: 24, wantMsg: "the name must be one line of text"},
		{name: "nul", in: "a\x00b", max: 24, wantMsg: "the name must be one line of text"},
		{name: "line separator", in: "a\u2028b", max: 24, wantMsg: "the name must be one line of text"},
		{name: "invalid utf-8", in: "a\xffb", max: 24, wantMsg: "the name must be one line of text"},
		{name: "html kept verbatim", in: "<b>x</b>", max: 24, want: "<b>x</b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanLine(tt.in, tt.max, "name", ErrBadName)
			if tt.wantMsg == "" {
				if err != nil || got != tt.want {
					t.Fatalf("cleanLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			var le *live.Error
			if !errors.As(err, &le) || le.Message != tt.wantMsg || !errors.Is(err, ErrBadName) {
				t.Fatalf("cleanLine(%q) err = %v, want a *live.Error %q wrapping ErrBadName", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestChatHubHistory(t *testing.T) {
	h := newChatHub(nil)
	at := time.UnixMilli(1_700_000_000_000)
	for i := range ChatHistory + 7 {
		m := h.post("alice", "m", at)
		if m.ID != i+1 || m.At != at.UnixMilli() || m.From != "alice" {
			t.Fatalf("post %d = %+v", i, m)
		}
	}
	got := h.recent()
	if len(got) != ChatHistory || got[0].ID != 8 || got[len(got)-1].ID != ChatHistory+7 {
		t.Fatalf("history holds ids %d..%d (%d), want the last %d", got[0].ID, got[len(got)-1].ID, len(got), ChatHistory)
	}
	// recent returns a copy: changing it does not change the hub.
	got[0].Text = "changed"
	if h.recent()[0].Text != "m" {
		t.Fatal("recent shares its slice with the hub")
	}
	if empty := newChatHub(nil).recent(); empty == nil || len(empty) != 0 {
		t.Fatalf("recent of an empty hub = %#v, want an empty non-nil slice", empty)
	}
}

func TestChatHubSeed(t *testing.T) {
	old := []ChatMessage{{ID: 4, From: "a", Text: "x"}, {ID: 9, From: "b", Text: "y"}}
	tests := []struct {
		name    string
		before  []string // texts posted before the seed
		seed    []ChatMessage
		want    []int // ids after the seed
		nextID  int
		seedLen int
	}{
		{name: "empty hub adopts", seed: old, want: []int{4, 9}, nextID: 10},
		{name: "hub with history keeps it", before: []string{"live"}, seed: old, want: []int{1}, nextID: 2},
		{name: "nothing to seed", seed: nil, want: []int{}, nextID: 1},
		{name: "long seed is cut", seed: longHistory(ChatHistory + 5), want: idsFrom(6, ChatHistory), nextID: ChatHistory + 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newChatHub(nil)
			for _, s := range tt.before {
				h.post("x", s, time.Now())
			}
			h.seed(tt.seed)
			got := []int{}
			for _, m := range h.recent() {
				got = append(got, m.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if m := h.post("x", "next", time.Now()); m.ID != tt.nextID {
				t.Errorf("next id = %d, want %d", m.ID, tt.nextID)
			}
		})
	}
}

func longHistory(n int) []ChatMessage {
	out := make([]ChatMessage, n)
	for i := range out {
		out[i] = ChatMessage{ID: i + 1, From: "a", Text: "t"}
	}
	return out
}

func idsFrom(first, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = first + i
	}
	return out
}

func TestChatHubNames(t *testing.T) {
	h := newChatHub(nil)
	h.setName("c1", "alice")
	h.setName("c2", "bob")
	h.setName("c3", "alice") // names may repeat
	h.setName("c2", "robert")
	h.forget("c3")
	members := []live.Member{{ComponentID: "c2"}, {ComponentID: "other"}, {ComponentID: "c1"}, {ComponentID: "c3"}}
	names, n := h.names(members)
	if diff := cmp.Diff([]string{"robert", "alice"}, names); diff != "" || n != 2 {
		t.Fatalf("names = %v, %d (-want +got):\n%s", names, n, diff)
	}

	many := make([]live.Member, MaxChatMembersShown+10)
	for i := range many {
		id := "m" + strings.Repeat("x", i)
		h.setName(id, "guest")
		many[i] = live.Member{ComponentID: id}
	}
	names, n = h.names(many)
	if len(names) != MaxChatMembersShown || n != MaxChatMembersShown+10 {
		t.Fatalf("%d names shown of %d online, want %d of %d", len(names), n, MaxChatMembersShown, MaxChatMembersShown+10)
	}
}

func TestChatSendBeforeJoin(t *testing.T) {
	c := newChatHub(nil).newChat()
	_, err := c.Send(testCtx(t), SendChatArgs{Text: "hi"})
	if !errors.Is(err, ErrNotJoined) {
		t.Fatalf("err = %v, want ErrNotJoined", err)
	}
	if len(c.Messages) != 0 {
		t.Fatalf("a refused message was kept: %+v", c.Messages)
	}
}
