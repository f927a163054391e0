package signing

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// MaxSignedStateSize bounds the encoded signedState object accepted by
// [ParseSignedState], in bytes. It equals the protocol's maximum message
// size (4 MiB), so it never rejects a state that fitted in a valid frame.
const MaxSignedStateSize = 4 << 20

// maxSafeInteger is 2^53, the bound of integers a JavaScript number holds
// exactly.
const maxSafeInteger = 1 << 53

// SignedState is the signedState wire object (spec §3.1). Compressed and
// Encrypted are always written; Nonce only when present.
type SignedState struct {
	// Data is the JSON text of the state with __componentName appended, or
	// base64 gzip of it (Compressed), or the AES-GCM envelope (Encrypted).
	Data string `json:"data"`
	// Signature is the lowercase hex HMAC-SHA256 of the signing payload.
	Signature string `json:"signature"`
	// Timestamp is the signing time in milliseconds since the Unix epoch.
	Timestamp int64 `json:"timestamp"`
	// Version increases by one every time the component is re-signed.
	Version int64 `json:"version"`
	// ComponentID is the id of the component instance that was signed.
	ComponentID string `json:"componentId"`
	// Nonce is the replay-protection token, empty when nonces are off.
	Nonce string `json:"nonce,omitempty"`
	// Compressed reports that Data is base64 gzip.
	Compressed bool `json:"compressed"`
	// Encrypted reports that Data is an AES-256-GCM envelope.
	Encrypted bool `json:"encrypted"`
}

// AppendJSON appends the JSON encoding of s to dst and returns the extended
// buffer. Keys come in the declaration order of the struct fields and
// strings are escaped as JSON.stringify escapes them. It does not use
// encoding/json and allocates only to grow dst.
func (s *SignedState) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"data":`...)
	dst = appendString(dst, s.Data)
	dst = append(dst, `,"signature":`...)
	dst = appendString(dst, s.Signature)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, s.Timestamp, 10)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, s.Version, 10)
	dst = append(dst, `,"componentId":`...)
	dst = appendString(dst, s.ComponentID)
	if s.Nonce != "" {
		dst = append(dst, `,"nonce":`...)
		dst = appendString(dst, s.Nonce)
	}
	dst = append(dst, `,"compressed":`...)
	dst = strconv.AppendBool(dst, s.Compressed)
	dst = append(dst, `,"encrypted":`...)
	dst = strconv.AppendBool(dst, s.Encrypted)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with [SignedState.AppendJSON].
func (s *SignedState) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(nil), nil
}

// UnmarshalJSON implements json.Unmarshaler with the strict shape check of
// [ParseSignedState].
func (s *SignedState) UnmarshalJSON(raw []byte) error {
	v, err := ParseSignedState(raw)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Field bits used by ParseSignedState to detect missing and duplicate keys.
const (
	fieldData = 1 << iota
	fieldSignature
	fieldTimestamp
	fieldVersion
	fieldComponentID
	fieldNonce
	fieldCompressed
	fieldEncrypted

	fieldsRequired = fieldData | fieldSignature | fieldTimestamp | fieldVersion | fieldComponentID
)

// ParseSignedState decodes a signedState object received from a client and
// checks its shape as the reference does (spec §1.5): data, signature and
// componentId strings, timestamp and version numbers, optional nonce string
// and optional compressed / encrypted booleans. It is stricter than the
// reference in three ways: numbers must be integers within ±2^53, a key may
// not appear twice, and input above [MaxSignedStateSize] bytes is refused.
// Unknown keys are ignored. Every error wraps [ErrMalformed]. It does not
// verify the signature; that is [Signer.Open]'s job.
func ParseSignedState(raw []byte) (SignedState, error) {
	var s SignedState
	if len(raw) > MaxSignedStateSize {
		return s, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSignedStateSize)
	}
	if !json.Valid(raw) {
		return s, fmt.Errorf("%w: invalid JSON", ErrMalformed)
	}
	it, ok := newObjIter(raw)
	if !ok {
		return s, fmt.Errorf("%w: not an object", ErrMalformed)
	}
	seen := 0
	for {
		m, ok, bad := it.next()
		if bad {
			return s, fmt.Errorf("%w: invalid JSON", ErrMalformed)
		}
		if !ok {
			break
		}
		// Keys without escapes are matched without allocating.
		keyLit := raw[m.keyStart:m.keyEnd]
		key := keyLit[1 : len(keyLit)-1]
		if containsByte(key, '\\') {
			k, ok := decodeString(keyLit)
			if !ok {
				return s, fmt.Errorf("%w: invalid key", ErrMalformed)
			}
			key = []byte(k)
		}
		var (
			bit  int
			name string
		)
		switch string(key) {
		case "data":
			bit, name = fieldData, "data"
		case "signature":
			bit, name = fieldSignature, "signature"
		case "timestamp":
			bit, name = fieldTimestamp, "timestamp"
		case "version":
			bit, name = fieldVersion, "version"
		case "componentId":
			bit, name = fieldComponentID, "componentId"
		case "nonce":
			bit, name = fieldNonce, "nonce"
		case "compressed":
			bit, name = fieldCompressed, "compressed"
		case "encrypted":
			bit, name = fieldEncrypted, "encrypted"
		default:
			continue
		}
		if seen&bit != 0 {
			return s, fmt.Errorf("%w: duplicate key %q", ErrMalformed, name)
		}
		seen |= bit
		val := raw[m.valStart:m.valEnd]
		var err error
		switch bit {
		case fieldData:
			s.Data, err = stringField(name, val)
		case fieldSignature:
			s.Signature, err = stringField(name, val)
		case fieldComponentID:
			s.ComponentID, err = stringField(name, val)
		case fieldNonce:
			s.Nonce, err = stringField(name, val)
		case fieldTimestamp:
			s.Timestamp, err = integerField(name, val)
		case fieldVersion:
			s.Version, err = integerField(name, val)
		case fieldCompressed:
			s.Compressed, err = boolField(name, val)
		case fieldEncrypted:
			s.Encrypted, err = boolField(name, val)
		}
		if err != nil {
			return SignedState{}, err
		}
	}
	if seen&fieldsRequired != fieldsRequired {
		for _, f := range []struct {
			bit  int
			name string
		}{{fieldData, "data"}, {fieldSignature, "signature"}, {fieldTimestamp, "timestamp"}, {fieldVersion, "version"}, {fieldComponentID, "componentId"}} {
			if seen&f.bit == 0 {
				return SignedState{}, fmt.Errorf("%w: missing %s", ErrMalformed, f.name)
			}
		}
	}
	return s, nil
}

func stringField(key string, val []byte) (string, error) {
	if len(val) == 0 || val[0] != '"' {
		return "", fmt.Errorf("%w: %s must be a string", ErrMalformed, key)
	}
	s, ok := decodeString(val)
	if !ok {
		return "", fmt.Errorf("%w: %s must be a string", ErrMalformed, key)
	}
	return s, nil
}

func boolField(key string, val []byte) (bool, error) {
	switch string(val) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s must be a boolean", ErrMalformed, key)
}

// integerField accepts a JSON number whose value is an integer in ±2^53.
// Forms such as 1.0 or 1e3 are accepted, like the JavaScript number they
// denote, when strictly inside ±2^53.
func integerField(key string, val []byte) (int64, error) {
	if len(val) == 0 || (val[0] != '-' && (val[0] < '0' || val[0] > '9')) {
		return 0, fmt.Errorf("%w: %s must be a number", ErrMalformed, key)
	}
	if n, ok := parseSmallInt(val); ok {
		return n, nil
	}
	if n, err := strconv.ParseInt(string(val), 10, 64); err == nil {
		if n < -maxSafeInteger || n > maxSafeInteger {
			return 0, fmt.Errorf("%w: %s is outside ±2^53", ErrMalformed, key)
		}
		return n, nil
	}
	// Fraction or exponent form. Near 2^53 the float may have been rounded
	// into range, so the bound is strict here.
	f, err := strconv.ParseFloat(string(val), 64)
	if err != nil || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, fmt.Errorf("%w: %s must be an integer", ErrMalformed, key)
	}
	if f <= -maxSafeInteger || f >= maxSafeInteger {
		return 0, fmt.Errorf("%w: %s is outside ±2^53", ErrMalformed, key)
	}
	return int64(f), nil
}

// parseSmallInt parses an optionally negative run of at most 15 decimal
// digits (always within ±2^53) without allocating.
func parseSmallInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
