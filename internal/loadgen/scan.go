package loadgen

import "errors"

// A frame carries one JSON object or an array of them (spec §12.2). The
// reader only needs a few of the messages it receives (replies, errors and
// deltas); room traffic, the bulk of a room benchmark, is recognised by a
// cheap scan of its top-level keys and never decoded, so the load generator
// spends its share of the machine on the server's answers, not on parsing
// presence notices.

var errSyntax = errors.New("loadgen: malformed JSON frame")

// splitFrame calls fn with each message of frame: the frame itself when it
// is an object, else each element of the array.
func splitFrame(frame []byte, fn func(msg []byte)) error {
	i := skipSpace(frame, 0)
	if i == len(frame) {
		return errSyntax
	}
	if frame[i] != '[' {
		end, err := skipValue(frame, i)
		if err != nil || skipSpace(frame, end) != len(frame) {
			return errSyntax
		}
		fn(frame[i:end])
		return nil
	}
	i = skipSpace(frame, i+1)
	if i < len(frame) && frame[i] == ']' {
		return trailing(frame, i+1)
	}
	for {
		end, err := skipValue(frame, i)
		if err != nil {
			return err
		}
		fn(frame[i:end])
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

// needed reports whether msg (one JSON object) must be decoded: a type the
// client acts on, or any message that carries a requestId (a reply). It
// reads only the top-level keys.
func needed(msg []byte) (bool, error) {
	i := skipSpace(msg, 0)
	if i == len(msg) || msg[i] != '{' {
		return false, errSyntax
	}
	i = skipSpace(msg, i+1)
	if i < len(msg) && msg[i] == '}' {
		return false, nil
	}
	var typ []byte
	hasRequestID := false
	for {
		if i == len(msg) || msg[i] != '"' {
			return false, errSyntax
		}
		kend, err := skipValue(msg, i)
		if err != nil {
			return false, err
		}
		key := msg[i+1 : kend-1]
		i = skipSpace(msg, kend)
		if i == len(msg) || msg[i] != ':' {
			return false, errSyntax
		}
		i = skipSpace(msg, i+1)
		vend, err := skipValue(msg, i)
		if err != nil {
			return false, err
		}
		switch string(key) {
		case "type":
			if vend-i >= 2 && msg[i] == '"' {
				typ = msg[i+1 : vend-1]
			}
		case "requestId":
			hasRequestID = true
		}
		i = skipSpace(msg, vend)
		if i == len(msg) {
			return false, errSyntax
		}
		if msg[i] == '}' {
			break
		}
		if msg[i] != ',' {
			return false, errSyntax
		}
		i = skipSpace(msg, i+1)
	}
	switch string(typ) {
	case "STATE_DELTA", "STATE_UPDATE", "ERROR":
		return true, nil
	}
	return hasRequestID, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i].
// It checks the nesting of brackets and the ends of strings, not every
// detail of the grammar (a reply that is decoded is checked fully then).
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errSyntax
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipValue(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
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
