package loadgen

import (
	"bytes"
	"errors"
)

// A frame carries one JSON object or an array of them (spec §12.2). The
// reader only needs a few of the messages it receives (replies, errors and
// deltas); room traffic, the bulk of a room benchmark, is recognised by a
// cheap scan of its top-level keys and never decoded, so the load generator
// spends its share of the machine on the server's answers, not on parsing
// presence notices.

var errSyntax = errors.New("loadgen: malformed JSON frame")

// splitFrame calls fn with each message of frame (the frame itself when it
// is an object, else each element of the array) and whether the client
// must decode it: a type the client acts on, or any message that carries a
// requestId (a reply). It reads only the messages' top-level keys, in one
// pass.
func splitFrame(frame []byte, fn func(msg []byte, need bool)) error {
	i := skipSpace(frame, 0)
	if i == len(frame) {
		return errSyntax
	}
	if frame[i] != '[' {
		end, need, err := scanMessage(frame, i)
		if err != nil || skipSpace(frame, end) != len(frame) {
			return errSyntax
		}
		fn(frame[i:end], need)
		return nil
	}
	i = skipSpace(frame, i+1)
	if i < len(frame) && frame[i] == ']' {
		return trailing(frame, i+1)
	}
	for {
		end, need, err := scanMessage(frame, i)
		if err != nil {
			return err
		}
		fn(frame[i:end], need)
		i = skipSpace(frame, end)
		if i == len(frame) {
			return errSyntax
		}
		switch frame[i] {
		case ',':
			i = skipSpace(frame, i+1)
		case ']':
			return trailing(frame, i+1)
		default:
			return errSyntax
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return errSyntax
	}
	return nil
}

// scanMessage scans the JSON object at b[i] and returns the index just past
// it and whether the client needs it decoded (see splitFrame).
func scanMessage(b []byte, i int) (end int, need bool, err error) {
	if i >= len(b) || b[i] != '{' {
		return 0, false, errSyntax
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, false, nil
	}
	var typ []byte
	hasRequestID := false
	for {
		if i == len(b) || b[i] != '"' {
			return 0, false, errSyntax
		}
		kend, err := skipString(b, i)
		if err != nil {
			return 0, false, err
		}
		key := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i == len(b) || b[i] != ':' {
			return 0, false, errSyntax
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return 0, false, err
		}
		switch string(key) {
		case "type":
			if vend-i >= 2 && b[i] == '"' {
				typ = b[i+1 : vend-1]
			}
		case "requestId":
			hasRequestID = true
		}
		i = skipSpace(b, vend)
		if i == len(b) {
			return 0, false, errSyntax
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return 0, false, errSyntax
		}
		i = skipSpace(b, i+1)
	}
	switch string(typ) {
	case "STATE_DELTA", "STATE_UPDATE", "ERROR":
		return i + 1, true, nil
	}
	return i + 1, hasRequestID, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at b[i]
// (b[i] == '"').
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, errSyntax
		}
		j += k
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		n := 0
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

// structural marks the bytes skipValue stops at inside objects and arrays.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipValue returns the index just past the JSON value starting at b[i].
// It checks the nesting of brackets and the ends of strings, not every
// detail of the grammar (a message that is decoded is checked fully then).
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			for j < len(b) && !structural[b[j]] {
				j++
			}
			if j == len(b) {
				break
			}
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errSyntax
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\n', '\r', '\t':
				if j == i {
					return 0, errSyntax
				}
				return j, nil
			}
			j++
		}
		if j == i {
			return 0, errSyntax
		}
		return j, nil
	}
}
