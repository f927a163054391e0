package protocol

// ForbiddenKey reports whether the JSON value raw holds an object key
// "__proto__", "constructor" or "prototype" (compared after unescaping, so
// "__pro\u0074o__" counts) in any object nested at most maxDepth levels below
// the root (the root is level 0, each array or object adds one, as in the
// reference's sanitizePayload). A negative maxDepth checks every level. It
// returns the first such key in document order.
//
// raw must be valid JSON, such as a raw field of an Envelope: on invalid
// input the result is unspecified (but ForbiddenKey does not panic).
func ForbiddenKey(raw []byte, maxDepth int) (key string, found bool) {
	if maxDepth < 0 {
		maxDepth = maxNesting
	}
	s := scanner{data: raw, check: true, checkDepth: maxDepth}
	s.skip(0)
	return s.found, s.found != ""
}

// StripKeys returns the JSON object raw without the top-level members for
// which drop returns true (drop receives each decoded key; duplicates are
// judged one by one). When nothing is dropped it returns raw itself, without
// copying; otherwise a new compact object holding the kept members' original
// key and value text, in their original order. It returns ErrInvalidJSON or
// ErrNotObject when raw is not a JSON object.
func StripKeys(raw []byte, drop func(key string) bool) ([]byte, error) {
	s := scanner{data: raw}
	s.ws()
	if s.i >= len(raw) || raw[s.i] != '{' {
		if _, ok := s.skip(0); !ok {
			return nil, ErrInvalidJSON
		}
		if s.ws(); s.i != len(raw) {
			return nil, ErrInvalidJSON
		}
		return nil, ErrNotObject
	}
	s.i++
	body := s.i  // where the first member starts
	kept := body // end of the last member kept before the first drop
	var out []byte
	for first := true; ; first = false {
		k, v, done, ok := s.member(first, 1)
		if !ok {
			return nil, ErrInvalidJSON
		}
		if done {
			break
		}
		if drop(decodeString(raw, k)) {
			if out == nil {
				out = make([]byte, 0, len(raw))
				out = append(out, '{')
				out = append(out, trimLeft(raw[body:kept])...)
			}
			continue
		}
		if out == nil {
			kept = v.end
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, raw[k.start:k.end]...)
		out = append(out, ':')
		out = append(out, raw[v.start:v.end]...)
	}
	if s.ws(); s.i != len(raw) {
		return nil, ErrInvalidJSON
	}
	if out == nil {
		return raw, nil
	}
	return append(out, '}'), nil
}

// trimLeft drops leading JSON whitespace.
func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}
