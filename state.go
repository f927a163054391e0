package live

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/live-go/live/internal/diff"
)

// collectStateFields lists the public state fields of struct type t: its
// exported fields as encoding/json would serialize them, named by their json
// tags; base (the embedded Base or RoomBase) is skipped.
func collectStateFields(owner string, t reflect.Type, base reflect.Type) ([]fieldInfo, map[string]int, error) {
	var fields []fieldInfo
	byName := map[string]int{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous && sf.Type == base {
			continue
		}
		if !sf.IsExported() {
			continue // server-only
		}
		name := sf.Name
		if tag, ok := sf.Tag.Lookup("json"); ok {
			if tag == "-" {
				continue
			}
			if n, _, _ := strings.Cut(tag, ","); n != "" {
				name = n
			}
		}
		if sf.Anonymous {
			return nil, nil, fmt.Errorf("live: %q: embedded field %s: only %v may be embedded; use a named field for nested state", owner, sf.Name, base)
		}
		if _, dup := byName[name]; dup {
			return nil, nil, fmt.Errorf("live: %q: duplicate state field name %q", owner, name)
		}
		byName[name] = len(fields)
		fields = append(fields, fieldInfo{name: name, key: appendKey(nil, name), index: i, typ: sf.Type, enc: encoderFor(sf.Type)})
	}
	return fields, byName, nil
}

// stateShape is what every state tracker of one registered type shares:
// the public fields and the diff depth.
type stateShape struct {
	fields []fieldInfo
	depth  int // diff.Object nesting bound
}

// stateTracker keeps the last sent JSON encoding of each public field of a
// struct value and produces deltas against it (spec §2.7). Not safe for
// concurrent use: its owner's mutex guards it.
type stateTracker struct {
	*stateShape
	prev     [][]byte
	scratch  []byte
	deltaBuf []byte
	changed  []string
}

func (t *stateTracker) init(shape *stateShape) {
	t.stateShape = shape
	t.prev = make([][]byte, len(shape.fields))
}

// encode appends the whole state object of elem to dst and makes it the new
// baseline for diff.
func (t *stateTracker) encode(dst []byte, elem reflect.Value) ([]byte, error) {
	dst = append(dst, '{')
	for i := range t.fields {
		f := &t.fields[i]
		var err error
		t.scratch, err = f.enc(t.scratch[:0], elem.Field(f.index))
		if err != nil {
			return dst, fmt.Errorf("field %q: %w", f.name, err)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f.key...)
		dst = append(dst, t.scratch...)
		t.prev[i] = append(t.prev[i][:0], t.scratch...)
	}
	return append(dst, '}'), nil
}

// current appends the baseline state object (the last encoded or diffed
// values) to dst.
func (t *stateTracker) current(dst []byte) []byte {
	dst = append(dst, '{')
	for i := range t.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, t.fields[i].key...)
		dst = append(dst, t.prev[i]...)
	}
	return append(dst, '}')
}

// diff compares elem's fields with the baseline and returns the delta object
// (nil when nothing changed) and the changed field names; the baseline moves
// to the current values. Both results alias internal buffers valid until the
// next call. Unchanged scalar fields cost one allocation-free encoding each.
func (t *stateTracker) diff(elem reflect.Value) ([]byte, []string, error) {
	d := append(t.deltaBuf[:0], '{')
	changed := t.changed[:0]
	for i := range t.fields {
		f := &t.fields[i]
		cur, err := f.enc(t.scratch[:0], elem.Field(f.index))
		t.scratch = cur
		if err != nil {
			return nil, nil, fmt.Errorf("field %q: %w", f.name, err)
		}
		old := t.prev[i]
		if bytes.Equal(cur, old) {
			continue
		}
		start := len(d)
		if len(changed) > 0 {
			d = append(d, ',')
		}
		d = append(d, f.key...)
		if len(cur) > 0 && cur[0] == '{' && len(old) > 0 && old[0] == '{' {
			var ok bool
			d, ok, err = diff.Object(d, old, cur, 1, t.depth)
			if err != nil {
				return nil, nil, fmt.Errorf("field %q: %w", f.name, err)
			}
			if !ok {
				d = d[:start]
				t.prev[i] = append(old[:0], cur...)
				continue
			}
		} else {
			d = append(d, cur...)
		}
		t.prev[i] = append(old[:0], cur...)
		changed = append(changed, f.name)
	}
	t.deltaBuf, t.changed = d, changed
	if len(changed) == 0 {
		return nil, nil, nil
	}
	d = append(d, '}')
	t.deltaBuf = d
	return d, changed, nil
}
