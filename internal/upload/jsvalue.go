package upload

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/live-go/live/internal/jsvalue"
)

// The reference builds its error messages with template literals, so a
// field the client sent is shown as JavaScript's String(value) would show
// it. jsString does the same on raw JSON.

// jsString returns String(v) of the JSON value raw, "undefined" when raw is
// empty (the field was absent). Arrays are shown as their join(",") and
// objects as "[object Object]"; malformed JSON is shown as is.
func jsString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "undefined"
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '{':
		return "[object Object]"
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			parts := make([]string, len(items))
			for i, it := range items {
				if t := bytes.TrimSpace(it); !bytes.Equal(t, []byte("null")) {
					parts[i] = jsString(it)
				}
			}
			return strings.Join(parts, ",")
		}
	case 't', 'f', 'n':
		return string(raw)
	default:
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil || isRangeErr(err) {
			return jsvalue.Number(f)
		}
	}
	return string(raw)
}

// isRangeErr reports a number too large for float64 (JSON.parse makes it
// ±Infinity, as ParseFloat does along with this error).
func isRangeErr(err error) bool { return errors.Is(err, strconv.ErrRange) }

// utf16Len returns the length of s in UTF-16 code units (JavaScript's
// String.prototype.length); invalid UTF-8 bytes count one each, as the
// replacement characters TextDecoder would make of them.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}
