package livenats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// maxEncodedName bounds an encoded subject or key, so that the protocol
// lines carrying it stay well under nats-server's default 4 KiB control
// line limit.
const maxEncodedName = 3072

// maxNodeID bounds Options.NodeID and a lease record's holder.
const maxNodeID = 256

var (
	// ErrNameTooLong is returned for a subject or key whose encoding is
	// longer than 3072 bytes.
	ErrNameTooLong = errors.New("livenats: subject or key too long")
	// errCorrupt is returned for a stored record that does not decode.
	errCorrupt = errors.New("livenats: corrupt record")
	// errBadName is returned by decodeName for a string encodeName never
	// produces.
	errBadName = errors.New("livenats: not an encoded name")
)

// ---- names ----
//
// The core's subjects ("live.room.<id>") and keys ("nonce/<ts>:<r>:<mac>")
// may hold characters that NATS subjects or KV keys do not allow (KV keys
// are [-/_=.A-Za-z0-9] without empty dot-separated tokens). encodeName maps
// any string to a valid subject suffix and KV key, one to one:
//
//   - dots separate tokens and are kept, so "live.room.x" stays readable;
//   - in a token, bytes of [A-Za-z0-9_/-] are kept and every other byte
//     becomes '=' and two upper-case hex digits (':' is "=3A", '=' "=3D");
//   - an empty token (the empty string, or a leading, trailing or doubled
//     dot) is written "=", which no escape produces.

// plain reports whether b is kept as is inside a token.
func plain(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '/'
}

const hexDigits = "0123456789ABCDEF"

// encodeName returns the reversible encoding of s described above.
func encodeName(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	tokenStart := true // at the start of a token
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if tokenStart {
				b.WriteByte('=')
			}
			b.WriteByte('.')
			tokenStart = true
			continue
		case plain(c):
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
		tokenStart = false
	}
	if tokenStart {
		b.WriteByte('=')
	}
	return b.String()
}

// decodeName inverts encodeName. It accepts exactly the strings encodeName
// produces (upper-case escapes of bytes that need one, no empty tokens).
func decodeName(s string) (string, error) {
	out := make([]byte, 0, len(s))
	first := true
	for tok := range strings.SplitSeq(s, ".") {
		if !first {
			out = append(out, '.')
		}
		first = false
		switch tok {
		case "":
			return "", fmt.Errorf("%w: empty token in %q", errBadName, s)
		case "=":
			continue // an empty token
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if plain(c) {
				out = append(out, c)
				continue
			}
			if c != '=' || i+2 >= len(tok) {
				return "", fmt.Errorf("%w: bad byte %q in %q", errBadName, c, s)
			}
			hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("%w: bad escape in %q", errBadName, s)
			}
			v := byte(hi<<4 | lo)
			if plain(v) || v == '.' { // encodeName never escapes these
				return "", fmt.Errorf("%w: needless escape in %q", errBadName, s)
			}
			out = append(out, v)
			i += 2
		}
	}
	return string(out), nil
}

// unhex returns the value of an upper-case hex digit, or -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ---- records ----
//
// Values in the KV buckets are small binary records, so that any byte
// string can be stored and tokens compare exactly over the whole uint64
// range:
//
//	value record: 0xA1 | uvarint token | uvarint ttl (ns, 0 = none) | value bytes
//	lease record: 0xB1 | flags (bit 0: held) | uvarint token | uvarint ttl (ns) | holder bytes
//
// A TTL counts from the JetStream timestamp of the record's message (the
// server's clock when it stored the write), not from a writer's clock.

const (
	recValue byte = 0xA1 // value record, version 1
	recLease byte = 0xB1 // lease record, version 1

	leaseHeld byte = 1 // lease record flag: a node holds the lease
)

// valueRecord is a decoded value record. value aliases the decoded bytes.
type valueRecord struct {
	token uint64
	ttl   time.Duration
	value []byte
}

// appendValue appends the value record of (token, ttl, value) to dst.
func appendValue(dst []byte, token uint64, ttl time.Duration, value []byte) []byte {
	dst = append(dst, recValue)
	dst = binary.AppendUvarint(dst, token)
	dst = binary.AppendUvarint(dst, uint64(ttl))
	return append(dst, value...)
}

// decodeValue decodes a value record. It does not allocate.
func decodeValue(b []byte) (valueRecord, error) {
	if len(b) == 0 || b[0] != recValue {
		return valueRecord{}, fmt.Errorf("%w: not a value record", errCorrupt)
	}
	b = b[1:]
	token, n := binary.Uvarint(b)
	if n <= 0 {
		return valueRecord{}, fmt.Errorf("%w: bad token", errCorrupt)
	}
	b = b[n:]
	ttl, n := binary.Uvarint(b)
	if n <= 0 || ttl > math.MaxInt64 {
		return valueRecord{}, fmt.Errorf("%w: bad ttl", errCorrupt)
	}
	return valueRecord{token: token, ttl: time.Duration(ttl), value: b[n:]}, nil
}

// leaseRecord is a decoded lease record.
type leaseRecord struct {
	held   bool
	token  uint64
	ttl    time.Duration
	holder string
}

// appendLease appends the lease record r to dst.
func appendLease(dst []byte, r leaseRecord) []byte {
	var flags byte
	if r.held {
		flags |= leaseHeld
	}
	dst = append(dst, recLease, flags)
	dst = binary.AppendUvarint(dst, r.token)
	dst = binary.AppendUvarint(dst, uint64(r.ttl))
	return append(dst, r.holder...)
}

// decodeLease decodes a lease record. It allocates only the holder string
// (at most 256 bytes).
func decodeLease(b []byte) (leaseRecord, error) {
	if len(b) < 2 || b[0] != recLease {
		return leaseRecord{}, fmt.Errorf("%w: not a lease record", errCorrupt)
	}
	flags := b[1]
	if flags&^leaseHeld != 0 {
		return leaseRecord{}, fmt.Errorf("%w: unknown lease flags %#x", errCorrupt, flags)
	}
	b = b[2:]
	token, n := binary.Uvarint(b)
	if n <= 0 {
		return leaseRecord{}, fmt.Errorf("%w: bad token", errCorrupt)
	}
	b = b[n:]
	ttl, n := binary.Uvarint(b)
	if n <= 0 || ttl > math.MaxInt64 {
		return leaseRecord{}, fmt.Errorf("%w: bad ttl", errCorrupt)
	}
	b = b[n:]
	r := leaseRecord{held: flags&leaseHeld != 0, token: token, ttl: time.Duration(ttl)}
	switch {
	case len(b) > maxNodeID:
		return leaseRecord{}, fmt.Errorf("%w: holder of %d bytes", errCorrupt, len(b))
	case r.held && (len(b) == 0 || ttl == 0):
		return leaseRecord{}, fmt.Errorf("%w: held lease without holder or ttl", errCorrupt)
	}
	r.holder = string(b)
	return r, nil
}

// expired reports whether a record written at created with ttl (0 = none)
// has expired at now.
func expired(created time.Time, ttl time.Duration, now time.Time) bool {
	return ttl > 0 && !now.Before(created.Add(ttl))
}
