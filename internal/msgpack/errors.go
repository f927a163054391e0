package msgpack

import "errors"

// Sentinel errors. Returned errors wrap one of them with context (an offset,
// a type byte, a Go type), to be tested with errors.Is.
var (
	// ErrTruncated reports input that ends inside a value.
	ErrTruncated = errors.New("msgpack: truncated input")
	// ErrTooDeep reports a value nested deeper than the decoder's MaxDepth
	// or the encoders' MaxEncodeDepth. The text carries the reference's
	// "Nesting too deep".
	ErrTooDeep = errors.New("msgpack: Nesting too deep")
	// ErrCountExceedsRemaining reports an array or map header whose element
	// count (doubled for maps) is larger than the bytes left in the input.
	ErrCountExceedsRemaining = errors.New("msgpack: container count exceeds remaining bytes")
	// ErrUnknownType reports a type byte outside the supported subset, such
	// as 0xc1, float32 (0xca), uint64 (0xcf), int64 (0xd3) or an ext type.
	ErrUnknownType = errors.New("msgpack: unknown type byte")
	// ErrTrailingBytes reports bytes after a complete value (Decode and
	// DecodeToJSON only; DecodePrefix allows them, like the reference).
	ErrTrailingBytes = errors.New("msgpack: trailing bytes after the value")
	// ErrInvalidJSON reports malformed JSON text given to AppendJSON or
	// Append (as a json.RawMessage).
	ErrInvalidJSON = errors.New("msgpack: invalid JSON")
	// ErrUnsupportedType reports a Go value Append cannot encode.
	ErrUnsupportedType = errors.New("msgpack: unsupported value type")
)
