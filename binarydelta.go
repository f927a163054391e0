package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
)

// BinaryType is the wire type of one BinaryCodec field (spec §1.10.1).
// Multi-byte values are little-endian. Values out of a type's range wrap
// around as in the reference (uint8: 256 → 0, -1 → 255; int8: 128 → -128;
// NaN → 0), and strings carry a u16 byte length, so a string over 65535
// bytes cannot be decoded.
type BinaryType uint8

// Binary wire types, in the reference's order.
const (
	BinaryUint8   = BinaryType(protocol.WireUint8)
	BinaryUint16  = BinaryType(protocol.WireUint16)
	BinaryUint32  = BinaryType(protocol.WireUint32)
	BinaryInt8    = BinaryType(protocol.WireInt8)
	BinaryInt16   = BinaryType(protocol.WireInt16)
	BinaryInt32   = BinaryType(protocol.WireInt32)
	BinaryFloat32 = BinaryType(protocol.WireFloat32)
	BinaryFloat64 = BinaryType(protocol.WireFloat64)
	BinaryBool    = BinaryType(protocol.WireBool)
	BinaryString  = BinaryType(protocol.WireString)
)

// String returns the reference's name of the type ("uint8" … "boolean",
// "string").
func (t BinaryType) String() string { return protocol.WireType(t).String() }

// BinaryField is one field of a BinaryCodec: the json name of a public
// state field and its wire type.
type BinaryField struct {
	Name string
	Type BinaryType
}

// BinaryCodec is the schema of a component's binary state deltas: the
// reference's BinaryStateCodec (spec §1.10.1). A payload is a bitmask of
// ceil(fields/8) bytes (at least one; bit i = byte i>>3, bit i&7, least
// significant first) marking the fields present, followed by their values
// in field order. Clients decode it with a codec built from the same
// fields in the same order.
//
// A BinaryCodec is immutable and safe for concurrent use; build it once
// and share it.
type BinaryCodec struct {
	c *protocol.StateCodec
}

// NewBinaryCodec returns a codec of the given fields, in wire order. Names
// must be distinct.
func NewBinaryCodec(fields ...BinaryField) (*BinaryCodec, error) {
	sf := make([]protocol.StateField, len(fields))
	for i, f := range fields {
		sf[i] = protocol.StateField{Name: f.Name, Type: protocol.WireType(f.Type)}
	}
	c, err := protocol.NewStateCodecFields(sf, nil)
	if err != nil {
		return nil, fmt.Errorf("live: binary codec: %w", err)
	}
	return &BinaryCodec{c: c}, nil
}

// NewBinaryCodecFromState builds a codec the way the reference's clients
// do from a component's default state: state (a struct or map, as it is
// encoded to JSON) gives the fields in key order; a key listed in schema
// takes that type, otherwise a number makes it float64, a boolean boolean
// and a string string, and keys of any other value are left out.
func NewBinaryCodecFromState(state any, schema map[string]BinaryType) (*BinaryCodec, error) {
	js, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("live: binary codec: default state: %w", err)
	}
	ws := make(map[string]protocol.WireType, len(schema))
	for k, t := range schema {
		ws[k] = protocol.WireType(t)
	}
	c, err := protocol.NewStateCodec(js, ws)
	if err != nil {
		return nil, fmt.Errorf("live: binary codec: %w", err)
	}
	return &BinaryCodec{c: c}, nil
}

// Fields returns the codec's fields in wire order.
func (c *BinaryCodec) Fields() []BinaryField {
	sf := c.c.Fields()
	out := make([]BinaryField, len(sf))
	for i, f := range sf {
		out[i] = BinaryField{Name: f.Name, Type: BinaryType(f.Type)}
	}
	return out
}

// Encode returns the payload carrying the codec's fields present in delta
// (keys are json names; values are Go scalars or anything encoding/json
// accepts, converted as JavaScript would), or nil when delta has none of
// them. Other keys are ignored.
func (c *BinaryCodec) Encode(delta map[string]any) ([]byte, error) {
	bin, _, err := c.c.Encode(nil, delta)
	if err != nil {
		return nil, fmt.Errorf("live: binary codec: %w", err)
	}
	return bin, nil
}

// Decode returns the delta carried by a payload: numbers as float64,
// booleans and strings. A payload that ends inside a field fails.
func (c *BinaryCodec) Decode(payload []byte) (map[string]any, error) {
	d, err := c.c.Decode(payload)
	if err != nil {
		return nil, fmt.Errorf("live: binary codec: %w", err)
	}
	return d, nil
}

// BinaryStater is implemented by components whose state has fields sent
// as binary deltas (see Base.SendBinaryDelta). BinaryState returns the
// codec; it should return the same codec every time.
type BinaryStater interface {
	BinaryState() *BinaryCodec
}

// ErrNotInComponentCode is returned by Base.SendBinaryDelta when it is not
// called from the component's own code (an action, a hook or a function
// passed to Base.Update), where the component's state is locked.
var ErrNotInComponentCode = errors.New("live: SendBinaryDelta must be called from an action, a hook or Base.Update")

// SendBinaryDelta sends the fields of the component's BinaryCodec (see
// BinaryStater) whose value changed since they were last sent, as one
// binary 0x01 frame to every connection of the component, like the
// reference's sendBinaryDelta; nothing is sent when none changed. Those
// fields are then up to date for the engine: the JSON STATE_DELTA sent
// when the running code returns does not repeat them (other changed
// fields go out as usual), while snapshots (mount, resync, rehydrate) and
// signed state keep carrying every field.
//
// Only clients that decode 0x01 frames (the official client, with a
// binary decoder registered for the component) see these changes between
// snapshots, and the frames are not replayed to a client that resumes
// (spec §1.10.1): use it for high-frequency state (positions, sensor
// readings) that the client is built to receive in binary.
//
// It must be called from the component's own code: an action, a hook or
// a function passed to Update. Called from elsewhere it returns
// ErrNotInComponentCode when no component code is running; while some is
// running on another goroutine, the call is a data race, exactly like
// touching the component's fields there. The frame is queued after the
// state delta of the running code.
func (b *Base) SendBinaryDelta() error {
	in := b.in
	if in == nil {
		return ErrDestroyed
	}
	bs, ok := in.comp.(BinaryStater)
	if !ok {
		return fmt.Errorf("live: component %q does not implement BinaryStater", in.def.name)
	}
	codec := bs.BinaryState()
	if codec == nil {
		return fmt.Errorf("live: component %q: BinaryState returned nil", in.def.name)
	}
	in.outMu.Lock()
	running := in.running
	in.outMu.Unlock()
	if !running {
		return ErrNotInComponentCode
	}
	if in.destroyed {
		return ErrDestroyed
	}
	return in.sendBinaryDelta(codec)
}

// sendBinaryDelta implements SendBinaryDelta. Called with mu held.
func (in *instance) sendBinaryDelta(codec *BinaryCodec) error {
	t := &in.st
	fields := codec.c.Fields()
	// The changed fields' encodings go into one delta object; changed
	// records the state field index and where its value sits in delta.
	type change struct{ field, start, end int }
	var buf [16]change
	changed := buf[:0]
	delta := append(t.scratch[:0], '{')
	for _, f := range fields {
		i, ok := in.def.byName[f.Name]
		if !ok {
			return fmt.Errorf("live: component %q: binary field %q is not a public state field (fields: %v)",
				in.def.name, f.Name, slices.Sorted(maps.Keys(in.def.byName)))
		}
		fi := &t.fields[i]
		mark := len(delta)
		if len(changed) > 0 {
			delta = append(delta, ',')
		}
		delta = append(delta, fi.key...)
		start := len(delta)
		var err error
		delta, err = fi.enc(delta, in.elem().Field(fi.index))
		if err != nil {
			t.scratch = delta
			return fmt.Errorf("live: component %q: field %q: %w", in.def.name, f.Name, err)
		}
		if bytes.Equal(delta[start:], t.prev[i]) {
			delta = delta[:mark]
			continue
		}
		changed = append(changed, change{i, start, len(delta)})
	}
	delta = append(delta, '}')
	t.scratch = delta
	if len(changed) == 0 {
		return nil
	}
	frame := make([]byte, 0, 2+len(in.id)+codec.c.BitmaskLen()+len(delta))
	frame, err := protocol.AppendComponentDelta(frame, in.id, nil)
	if err != nil {
		return fmt.Errorf("live: binary delta: %w", err)
	}
	frame, _, err = codec.c.EncodeJSON(frame, delta)
	if err != nil {
		return fmt.Errorf("live: binary delta: %w", err)
	}
	for _, ch := range changed {
		t.prev[ch.field] = append(t.prev[ch.field][:0], delta[ch.start:ch.end]...)
	}
	in.deliver(func() { in.fanout(sendq.Item{Data: frame, Kind: sendq.Binary}) })
	in.scheduleRenewal()
	in.srv.observeDelta(in, len(frame))
	return nil
}
