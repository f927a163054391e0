package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"unicode/utf8"
)

// Errors returned by [Object] and [Merge]. They are wrapped with details;
// test with errors.Is.
var (
	// ErrInvalidJSON reports input that is not valid JSON.
	ErrInvalidJSON = errors.New("diff: invalid JSON")
	// ErrNotObject reports valid JSON input that is not an object where an
	// object is required.
	ErrNotObject = errors.New("diff: not a JSON object")
	// ErrDuplicateKey reports an object, inspected key by key, that holds the
	// same key twice: its meaning depends on the decoder, so no delta is
	// computed for it.
	ErrDuplicateKey = errors.New("diff: duplicate object key")
)

// maxNesting bounds the nesting of arrays and objects accepted in input, as
// encoding/json does, so that validation never recurses without limit.
const maxNesting = 10000

// smallObject is the member count up to which objects are handled without
// heap allocation: keys are matched by linear search (with an in-order hint)
// and checked for duplicates pairwise. Larger objects get a hash table of
// their keys.
const smallObject = 16

// member is one "key": value pair of a parsed object, as offsets into the
// parsed input (kept small: objects of up to smallObject members are held in
// arrays on the stack).
type member struct {
	keyStart, keyEnd int32 // raw key token, quotes included
	valStart, valEnd int32 // raw value token without surrounding whitespace
	name             int32 // index of the decoded key in parsed.names, or -1 when the raw key is its own name
	peer             int32 // index of the member with the same name in the other object, or -1
}

// scanner validates JSON with the grammar of encoding/json (RFC 8259; invalid
// UTF-8 inside strings is tolerated as encoding/json tolerates it).
type scanner struct {
	data   []byte
	pos    int
	spaced bool // insignificant whitespace was seen
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrInvalidJSON, s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.spaced = true
			s.pos++
		default:
			return
		}
	}
}

// unexpected returns the error for the byte at s.pos (or end of input).
func (s *scanner) unexpected(context string) error {
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input %s", context)
	}
	return s.errorf("unexpected byte %q %s", s.data[s.pos], context)
}

// value validates the value starting at s.pos (no leading whitespace) and
// moves past it. depth is the nesting of the enclosing containers.
func (s *scanner) value(depth int) error {
	if s.pos >= len(s.data) {
		return s.unexpected("looking for a value")
	}
	switch c := s.data[s.pos]; c {
	case '{':
		return s.skipObject(depth + 1)
	case '[':
		return s.skipArray(depth + 1)
	case '"':
		_, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number()
		}
		return s.unexpected("looking for a value")
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return s.errorf("invalid literal, want %s", lit)
	}
	s.pos += len(lit)
	return nil
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

func (s *scanner) number() error {
	if s.data[s.pos] == '-' {
		s.pos++
	}
	if s.pos < len(s.data) && s.data[s.pos] == '0' {
		s.pos++
	} else if s.digits() == 0 {
		return s.unexpected("in number")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return s.unexpected("after decimal point in number")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return s.unexpected("in exponent of number")
		}
	}
	return nil
}

// str validates the string starting at s.pos (the opening quote) and moves
// past it. plain reports that the string has no escapes and is valid UTF-8,
// so its raw bytes are its value.
func (s *scanner) str() (plain bool, err error) {
	start := s.pos + 1
	s.pos++ // opening quote
	plain = true
	ascii := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if !ascii && plain {
				plain = utf8.Valid(s.data[start : s.pos-1])
			}
			return plain, nil
		case c == '\\':
			plain = false
			s.pos++
			if s.pos >= len(s.data) {
				return false, s.unexpected("in string escape")
			}
			switch s.data[s.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				s.pos++
				for range 4 {
					if s.pos >= len(s.data) || !isHex(s.data[s.pos]) {
						return false, s.unexpected("in \\u escape")
					}
					s.pos++
				}
			default:
				return false, s.unexpected("in string escape")
			}
		case c < 0x20:
			return false, s.errorf("control character %q in string", c)
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			s.pos++
		}
	}
	return false, s.unexpected("in string")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (s *scanner) skipArray(depth int) error {
	if depth > maxNesting {
		return s.errorf("nesting deeper than %d", maxNesting)
	}
	s.pos++ // '['
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.unexpected("in array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case ']':
			s.pos++
			return nil
		default:
			return s.unexpected("after array element")
		}
	}
}

func (s *scanner) skipObject(depth int) error {
	if depth > maxNesting {
		return s.errorf("nesting deeper than %d", maxNesting)
	}
	_, _, err := s.members(depth, false, nil, nil)
	return err
}

// members walks the object starting at s.pos ('{') and, when collect is
// set, appends its members to out and the keys that needed decoding to names
// (see member.name).
func (s *scanner) members(depth int, collect bool, out []member, names [][]byte) ([]member, [][]byte, error) {
	s.pos++ // '{'
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return out, names, nil
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return out, names, s.unexpected("looking for an object key")
		}
		keyStart := s.pos
		plain, err := s.str()
		if err != nil {
			return out, names, err
		}
		key := s.data[keyStart:s.pos]
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return out, names, s.unexpected("after object key")
		}
		s.pos++
		s.skipSpace()
		valStart := s.pos
		if err := s.value(depth); err != nil {
			return out, names, err
		}
		if collect {
			name := int32(-1)
			if !plain {
				// Rare: decode exactly as encoding/json does, so that keys
				// compare as they will once decoded.
				var dec string
				if err := json.Unmarshal(bytes.Clone(key), &dec); err != nil {
					return out, names, fmt.Errorf("%w: key %s: %w", ErrInvalidJSON, string(key), err)
				}
				name = int32(len(names))
				names = append(names, []byte(dec))
			}
			out = append(out, member{
				keyStart: int32(keyStart), keyEnd: int32(keyStart + len(key)),
				valStart: int32(valStart), valEnd: int32(s.pos),
				name: name, peer: -1,
			})
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return out, names, s.unexpected("in object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
		case '}':
			s.pos++
			return out, names, nil
		default:
			return out, names, s.unexpected("after object member")
		}
	}
}

// maxInput is the largest input accepted, so that offsets fit in an int32.
const maxInput = 1<<31 - 1

// parsed is a validated object split into members.
type parsed struct {
	data    []byte
	members []member
	names   [][]byte // decoded keys, see member.name
	raw     []byte   // the object token without surrounding whitespace
	spaced  bool     // the input holds insignificant whitespace
	table   []int32  // open-addressing hash table of member index+1 (0: empty), large objects only
}

// tableSeed seeds the key hash of large objects, randomly per process so that
// input cannot be crafted to collide.
var tableSeed = maphash.MakeSeed()

// lookup returns the index of the member named name, or -1; p.table must
// have been built.
func (p *parsed) lookup(name []byte) int32 {
	mask := uint64(len(p.table) - 1)
	for h := maphash.Bytes(tableSeed, name) & mask; ; h = (h + 1) & mask {
		slot := p.table[h]
		if slot == 0 {
			return -1
		}
		if bytes.Equal(p.name(slot-1), name) {
			return slot - 1
		}
	}
}

// key returns the raw key token of member i, quotes included.
func (p *parsed) key(i int32) []byte {
	m := &p.members[i]
	return p.data[m.keyStart:m.keyEnd]
}

// val returns the raw value token of member i.
func (p *parsed) val(i int32) []byte {
	m := &p.members[i]
	return p.data[m.valStart:m.valEnd]
}

// name returns the decoded key of member i.
func (p *parsed) name(i int32) []byte {
	m := &p.members[i]
	if m.name >= 0 {
		return p.names[m.name]
	}
	return p.data[m.keyStart+1 : m.keyEnd-1]
}

// isObject reports whether the value of member i is an object.
func (p *parsed) isObject(i int32) bool {
	return p.data[p.members[i].valStart] == '{'
}

// parseObject validates data, which must hold exactly one JSON object, and,
// when collect is set, appends its members to buf and checks its keys. A
// valid non-object yields ErrNotObject; a repeated key ErrDuplicateKey.
func parseObject(data []byte, buf []member, collect bool) (parsed, error) {
	if len(data) > maxInput {
		return parsed{}, fmt.Errorf("%w: input larger than %d bytes", ErrInvalidJSON, maxInput)
	}
	s := scanner{data: data}
	s.skipSpace()
	start := s.pos
	isObject := s.pos < len(data) && data[s.pos] == '{'
	p := parsed{data: data}
	if isObject {
		var err error
		if p.members, p.names, err = s.members(1, collect, buf, nil); err != nil {
			return parsed{}, err
		}
	} else if err := s.value(0); err != nil {
		return parsed{}, err
	}
	p.raw = data[start:s.pos]
	s.skipSpace()
	if s.pos != len(data) {
		return parsed{}, s.unexpected("after top-level value")
	}
	if !isObject {
		return parsed{}, ErrNotObject
	}
	p.spaced = s.spaced
	if collect {
		if err := p.checkKeys(); err != nil {
			return parsed{}, err
		}
	}
	return p, nil
}

// checkKeys rejects repeated keys and builds the hash table of large
// objects.
func (p *parsed) checkKeys() error {
	n := int32(len(p.members))
	if n <= smallObject {
		for i := int32(1); i < n; i++ {
			for j := range i {
				if bytes.Equal(p.name(i), p.name(j)) {
					return fmt.Errorf("%w: %s", ErrDuplicateKey, string(p.key(i)))
				}
			}
		}
		return nil
	}
	size := 1
	for size < 2*int(n) {
		size <<= 1
	}
	p.table = make([]int32, size)
	mask := uint64(size - 1)
	for i := range n {
		name := p.name(i)
		h := maphash.Bytes(tableSeed, name) & mask
		for ; p.table[h] != 0; h = (h + 1) & mask {
			if bytes.Equal(p.name(p.table[h]-1), name) {
				return fmt.Errorf("%w: %s", ErrDuplicateKey, string(p.key(i)))
			}
		}
		p.table[h] = i + 1
	}
	return nil
}

// match links the members of a and b that share a name through their peer
// fields.
func match(a, b *parsed) {
	am, bm := a.members, b.members
	na, nb := int32(len(am)), int32(len(bm))
	if a.table == nil && b.table != nil {
		for j := range na {
			if i := b.lookup(a.name(j)); i >= 0 {
				am[j].peer, bm[i].peer = i, j
			}
		}
		return
	}
	// Try first the member of a after the previous match: encoders write
	// keys in a stable order, so this usually hits. Otherwise search a.
	hint := int32(0)
	for i := range nb {
		name := b.name(i)
		j := int32(-1)
		switch {
		case hint < na && bytes.Equal(a.name(hint), name):
			j = hint
		case a.table != nil:
			j = a.lookup(name)
		default:
			for k := range na {
				if bytes.Equal(a.name(k), name) {
					j = k
					break
				}
			}
		}
		if j >= 0 {
			am[j].peer, bm[i].peer = i, j
			hint = j + 1
		}
	}
}

// equalValues reports whether two validated values have the same compact
// encoding. spaced says whether either may hold insignificant whitespace.
func equalValues(a, b []byte, spaced bool) bool {
	if !spaced {
		return bytes.Equal(a, b)
	}
	i, j := 0, 0
	inString, escaped := false, false
	for {
		if !inString {
			for i < len(a) && isSpace(a[i]) {
				i++
			}
			for j < len(b) && isSpace(b[j]) {
				j++
			}
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		c := a[i]
		if c != b[j] {
			return false
		}
		i++
		j++
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendValue appends the validated value v, removing insignificant
// whitespace when spaced says there may be some.
func appendValue(dst, v []byte, spaced bool) []byte {
	if !spaced {
		return append(dst, v...)
	}
	inString, escaped := false, false
	for _, c := range v {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && isSpace(c):
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
