package httpwire

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/live-go/live/internal/protocol"
)

// TokenHeader is the request header that carries a session token. Header
// names are case-insensitive; Go canonicalizes this spelling.
const TokenHeader = "X-Live-Session"

// TokenLen is the length of a session token: 32 random bytes as lowercase
// hex.
const TokenLen = 64

// NewToken returns a fresh session token: 32 bytes from crypto/rand as 64
// lowercase hex characters.
func NewToken() string {
	var b [TokenLen / 2]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand.Read panics or succeeds)
	return hex.EncodeToString(b[:])
}

// ValidToken reports whether s has the shape of a session token.
func ValidToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// AppendTokenJSON appends {"token":"<token>"}. token must be a valid token
// (it is written without escaping).
func AppendTokenJSON(dst []byte, token string) []byte {
	dst = append(dst, `{"token":"`...)
	dst = append(dst, token...)
	return append(dst, `"}`...)
}

// ErrBadToken reports a token object that is not {"token":"<64 hex>"}.
var ErrBadToken = errors.New("httpwire: malformed session token")

// ParseToken decodes {"token":"<hex>"} (the SSE session event's data and
// the long-poll open response) and validates the token's shape.
func ParseToken(b []byte) (string, error) {
	var v struct {
		Token *string `json:"token"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	if v.Token == nil || !ValidToken(*v.Token) {
		return "", ErrBadToken
	}
	return *v.Token, nil
}

// Close is a close status: the code and reason of a closed connection,
// encoded as {"code":N,"reason":"..."}.
type Close struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// AppendClose appends c as a JSON object.
func AppendClose(dst []byte, c Close) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c.Code), 10)
	dst = append(dst, `,"reason":`...)
	dst = protocol.AppendString(dst, c.Reason)
	return append(dst, '}')
}

// ErrBadClose reports a close object that is not {"code":N,"reason":"..."}.
var ErrBadClose = errors.New("httpwire: malformed close status")

// ParseClose decodes a close status. The code must be an integer in
// [0, 4999]; the reason may be absent.
func ParseClose(b []byte) (Close, error) {
	var v struct {
		Code   *int   `json:"code"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Close{}, fmt.Errorf("%w: %w", ErrBadClose, err)
	}
	if v.Code == nil || *v.Code < 0 || *v.Code > 4999 {
		return Close{}, ErrBadClose
	}
	return Close{Code: *v.Code, Reason: v.Reason}, nil
}

// ---- Server-Sent Events ---------------------------------------------------

// Event names of the SSE transport.
const (
	EventSession = "session" // data: {"token":"<hex>"}; always first
	EventMessage = "message" // data: one server text frame
	EventBinary  = "binary"  // data: base64 of one server binary frame
	EventClose   = "close"   // data: {"code":N,"reason":"..."}; last
)

// Ping is the heartbeat comment sent on an idle event stream.
var Ping = []byte(": ping\n\n")

// AppendEvent appends one event named event (a trusted constant without
// line breaks) carrying data. Every line of data (split at CRLF, CR or LF,
// the three line ends of the event-stream format) becomes its own "data:"
// line, so a client joining them with LF gets data back with LF line ends.
func AppendEvent(dst []byte, event string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, event...)
	dst = append(dst, '\n')
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// AppendBinaryEvent appends a "binary" event whose data is the standard
// base64 encoding (with padding) of frame.
func AppendBinaryEvent(dst []byte, frame []byte) []byte {
	dst = append(dst, "event: "+EventBinary+"\ndata: "...)
	dst = base64.StdEncoding.AppendEncode(dst, frame)
	return append(dst, '\n', '\n')
}

// AppendCloseEvent appends a "close" event carrying c.
func AppendCloseEvent(dst []byte, c Close) []byte {
	dst = append(dst, "event: "+EventClose+"\ndata: "...)
	dst = AppendClose(dst, c)
	return append(dst, '\n', '\n')
}

// AppendSessionEvent appends the "session" event that opens every stream.
func AppendSessionEvent(dst []byte, token string) []byte {
	dst = append(dst, "event: "+EventSession+"\ndata: "...)
	dst = AppendTokenJSON(dst, token)
	return append(dst, '\n', '\n')
}

// ---- Long-poll bodies ------------------------------------------------------

// AppendTextFrame appends one long-poll frame item {"t":"<text>"}: the
// server's JSON text frame as a JSON string.
func AppendTextFrame(dst []byte, text []byte) []byte {
	dst = append(dst, `{"t":`...)
	dst = protocol.AppendBytesString(dst, text)
	return append(dst, '}')
}

// AppendBinaryFrame appends one long-poll frame item {"b":"<base64>"}.
func AppendBinaryFrame(dst []byte, frame []byte) []byte {
	dst = append(dst, `{"b":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, frame)
	return append(dst, `"}`...)
}

// AppendPollBody appends a poll response body. items holds zero or more
// frame items (from AppendTextFrame and AppendBinaryFrame) separated by
// commas; closed, when not nil, is added as "closed".
func AppendPollBody(dst, items []byte, closed *Close) []byte {
	dst = append(dst, `{"frames":[`...)
	dst = append(dst, items...)
	dst = append(dst, ']')
	if closed != nil {
		dst = append(dst, `,"closed":`...)
		dst = AppendClose(dst, *closed)
	}
	return append(dst, '}')
}

// Frame is one decoded long-poll frame.
type Frame struct {
	Binary bool
	Data   []byte
}

// PollBody is a decoded poll response.
type PollBody struct {
	Frames []Frame
	Closed *Close // nil unless the session was closed by the server
}

// ErrBadPollBody reports a poll response that does not follow the format.
var ErrBadPollBody = errors.New("httpwire: malformed poll body")

// ParsePollBody decodes a poll response body: an object with "frames" (an
// array of {"t":"<text>"} or {"b":"<base64>"} items, exactly one key each)
// and an optional "closed" status. Allocation is bounded by len(b).
func ParsePollBody(b []byte) (PollBody, error) {
	var v struct {
		Frames []struct {
			T *string `json:"t"`
			B *string `json:"b"`
		} `json:"frames"`
		Closed *json.RawMessage `json:"closed"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return PollBody{}, fmt.Errorf("%w: %w", ErrBadPollBody, err)
	}
	if v.Frames == nil {
		return PollBody{}, fmt.Errorf("%w: no frames array", ErrBadPollBody)
	}
	out := PollBody{Frames: make([]Frame, 0, len(v.Frames))}
	for i, f := range v.Frames {
		switch {
		case f.T != nil && f.B == nil:
			out.Frames = append(out.Frames, Frame{Data: []byte(*f.T)})
		case f.B != nil && f.T == nil:
			data, err := base64.StdEncoding.DecodeString(*f.B)
			if err != nil {
				return PollBody{}, fmt.Errorf("%w: frame %d: %w", ErrBadPollBody, i, err)
			}
			out.Frames = append(out.Frames, Frame{Binary: true, Data: data})
		default:
			return PollBody{}, fmt.Errorf("%w: frame %d needs exactly one of \"t\" and \"b\"", ErrBadPollBody, i)
		}
	}
	if v.Closed != nil && !bytes.Equal(*v.Closed, []byte("null")) {
		c, err := ParseClose(*v.Closed)
		if err != nil {
			return PollBody{}, fmt.Errorf("%w: %w", ErrBadPollBody, err)
		}
		out.Closed = &c
	}
	return out, nil
}
