package protocol

import (
	"strings"
	"testing"
)

func TestDepth(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		limit    int
		depth    int
		exceeded bool
	}{
		{"empty", ``, 32, 0, false},
		{"scalar", `"x"`, 32, 0, false},
		{"flat object", `{"a":1}`, 32, 1, false},
		{"call action", string(benchCallAction), 32, 2, false},
		{"sequential not nested", `[[],[],{}]`, 32, 2, false},
		{"brackets in strings ignored", `{"a":"[[[{{{"}`, 32, 1, false},
		{"escaped quote keeps string open", `{"a":"\"[[["}`, 32, 1, false},
		{"escaped backslash closes string", `{"a":"\\"}`, 32, 1, false},
		{"backslash run before quote", `["\\\\\"[[[\\\\"]`, 32, 1, false},
		{"unterminated string", `[["[[[[`, 32, 2, false},
		{"unbalanced closers lower the depth", `]]]][[`, 1, 0, false},
		{"at the limit", strings.Repeat("[", 32) + strings.Repeat("]", 32), 32, 32, false},
		{"over the limit", strings.Repeat("[", 33) + strings.Repeat("]", 33), 32, 33, true},
		{"stops early", strings.Repeat("{", 1000), 32, 33, true},
		{"limit zero", `{}`, 0, 1, true},
		{"limit zero scalar", `1`, 0, 0, false},
		{"no limit", strings.Repeat("[", 1000), -1, 1000, false},
		{"backslash outside string", `\"[[`, 32, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			depth, exceeded := Depth([]byte(tt.data), tt.limit)
			if depth != tt.depth || exceeded != tt.exceeded {
				t.Errorf("Depth(%q, %d) = %d, %v; want %d, %v", tt.data, tt.limit, depth, exceeded, tt.depth, tt.exceeded)
			}
			if rd, rex := refDepth([]byte(tt.data), tt.limit); rd != depth || rex != exceeded {
				t.Errorf("reference disagrees: %d, %v", rd, rex)
			}
		})
	}
}
