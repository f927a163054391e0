package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// isProtoKey reports whether k is one of the prototype-pollution keys the
// reference strips from payloads (spec §6.1).
func isProtoKey(k string) bool { return k == "__proto__" || k == "constructor" || k == "prototype" }

// Sanitize returns raw without any "__proto__", "constructor" or
// "prototype" member at any depth up to maxDepth (deeper values are kept as
// they are), like the reference's sanitizePayload. It returns raw itself
// when there is nothing to remove; otherwise a compact copy with member
// order preserved.
func Sanitize(raw []byte, maxDepth int) ([]byte, error) {
	if _, found := ForbiddenKey(raw, maxDepth); !found {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out, err := sanitizeValue(dec, make([]byte, 0, len(raw)), 0, maxDepth)
	if err != nil {
		return nil, fmt.Errorf("protocol: sanitize: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("protocol: sanitize: %w", ErrInvalidJSON)
	}
	return out, nil
}

func sanitizeValue(dec *json.Decoder, out []byte, depth, maxDepth int) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out = append(out, '{')
			first := true
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				if depth < maxDepth && isProtoKey(k) {
					if out, err = skipValue(dec, out); err != nil {
						return nil, err
					}
					continue
				}
				if !first {
					out = append(out, ',')
				}
				first = false
				out = AppendString(out, k)
				out = append(out, ':')
				if out, err = sanitizeValue(dec, out, depth+1, maxDepth); err != nil {
					return nil, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return append(out, '}'), nil
		case '[':
			out = append(out, '[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out = append(out, ',')
				}
				if out, err = sanitizeValue(dec, out, depth+1, maxDepth); err != nil {
					return nil, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return append(out, ']'), nil
		}
		return nil, ErrInvalidJSON
	case string:
		return AppendString(out, t), nil
	case json.Number:
		return append(out, t...), nil
	case bool:
		if t {
			return append(out, "true"...), nil
		}
		return append(out, "false"...), nil
	case nil:
		return append(out, "null"...), nil
	}
	return nil, ErrInvalidJSON
}

// skipValue consumes one value without writing it.
func skipValue(dec *json.Decoder, out []byte) ([]byte, error) {
	var discard json.RawMessage
	if err := dec.Decode(&discard); err != nil {
		return nil, err
	}
	return out, nil
}
