package clusterapp

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// cleanText decodes untrusted text (todo texts, chat names and messages):
// whatever it accepts is trimmed, valid UTF-8 without control characters,
// and within the limit.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", " hi ", "a\x00b", "\xff\xfe", "héllo", strings.Repeat("ü", 40), "\u2028x", "\ufeff"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit = 1 + (limit&0xff)%64
		got, err := cleanText(s, limit)
		if err != nil {
			if got != "" {
				t.Fatalf("error %v with result %q", err, got)
			}
			return
		}
		if got == "" || got != strings.TrimSpace(got) || !strings.Contains(s, got) {
			t.Fatalf("cleanText(%q) = %q: not the trimmed input", s, got)
		}
		if !utf8.ValidString(got) || strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("cleanText(%q) = %q: invalid or control characters", s, got)
		}
		if n := utf8.RuneCountInString(got); n > limit {
			t.Fatalf("cleanText(%q) = %q: %d characters, limit %d", s, got, n, limit)
		}
	})
}

// pickSlot decodes the lobby's state (written by every node): whatever the
// bytes, it returns one of the ChatHistory slots, a free one when there is
// one.
func FuzzPickSlot(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"m00":{"id":"2"},"m01":{"id":"1"}}`))
	f.Add([]byte(`{"m00":null}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"m00":{"id":5}}`))
	f.Add([]byte(`{"m00":`))
	f.Fuzz(func(t *testing.T, state []byte) {
		got := pickSlot(state)
		valid := false
		for i := range ChatHistory {
			if got == slotName(i) {
				valid = true
			}
		}
		if !valid {
			t.Fatalf("pickSlot(%q) = %q, not a slot", state, got)
		}
		var st map[string]json.RawMessage
		if json.Unmarshal(state, &st) == nil {
			var line struct {
				ID string `json:"id"`
			}
			if raw, ok := st[got]; ok && json.Unmarshal(raw, &line) == nil && line.ID != "" {
				// A taken slot is only picked when every slot is taken.
				for i := range ChatHistory {
					var other struct {
						ID string `json:"id"`
					}
					raw, ok := st[slotName(i)]
					if !ok || json.Unmarshal(raw, &other) != nil || other.ID == "" {
						t.Fatalf("pickSlot(%q) = taken %q while %s is free", state, got, slotName(i))
					}
					if other.ID < line.ID {
						t.Fatalf("pickSlot(%q) = %q (id %q), but %s is older", state, got, line.ID, slotName(i))
					}
				}
			}
		}
	})
}
