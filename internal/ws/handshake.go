// Package ws is the server side of RFC 6455 WebSocket connections, written
// for live-go's transport and its per-connection memory budget:
//
//   - an idle connection holds no read buffer: the reader waits for the
//     socket to become readable (on Linux, through the runtime's poller and
//     a one-byte MSG_PEEK) and only then takes a pooled buffer, which it
//     returns once every buffered byte is consumed;
//   - there is no write buffer: a frame header and its payload leave in one
//     writev, without copying the payload;
//   - the close and ping handshakes are the ones the server needs (a Close
//     that waits for the peer's close frame, a Ping that waits for its pong).
//
// Permessage-deflate and subprotocols are not negotiated. Text frames are
// not checked for valid UTF-8 (the server parses every text message as JSON
// and rejects what does not parse).
package ws

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// keyGUID is the fixed GUID of RFC 6455 §1.3 for Sec-WebSocket-Accept.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// ErrHandshake is wrapped by every handshake refusal of Accept.
var ErrHandshake = errors.New("ws: bad handshake")

// checkRequest validates an opening handshake (RFC 6455 §4.2.1). On failure
// it returns the HTTP status to answer with.
func checkRequest(w http.ResponseWriter, r *http.Request) (status int, err error) {
	if !r.ProtoAtLeast(1, 1) {
		return http.StatusUpgradeRequired, fmt.Errorf("%w: HTTP/1.1 or later required, got %q", ErrHandshake, r.Proto)
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		return http.StatusUpgradeRequired, fmt.Errorf("%w: not a WebSocket upgrade request", ErrHandshake)
	}
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s, want GET", ErrHandshake, r.Method)
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		return http.StatusBadRequest, fmt.Errorf("%w: unsupported Sec-WebSocket-Version %q", ErrHandshake, r.Header.Get("Sec-WebSocket-Version"))
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, fmt.Errorf("%w: want exactly one Sec-WebSocket-Key, got %d", ErrHandshake, len(keys))
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return http.StatusBadRequest, fmt.Errorf("%w: Sec-WebSocket-Key is not 16 bytes in base64", ErrHandshake)
	}
	return 0, nil
}

// headerHasToken reports whether a comma-separated header holds token
// (ASCII case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// AcceptKey returns the Sec-WebSocket-Accept value for a client's key.
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(strings.TrimSpace(key) + keyGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Accept completes the opening handshake of r and returns the connection.
// A request that is not a valid WebSocket upgrade gets an HTTP error reply
// and an error wrapping ErrHandshake. The connection is hijacked through
// http.ResponseController, so wrapped ResponseWriters (framework contexts,
// middleware) work when they unwrap to a Hijacker.
func Accept(w http.ResponseWriter, r *http.Request, opts Options) (*Conn, error) {
	if status, err := checkRequest(w, r); err != nil {
		http.Error(w, err.Error(), status)
		return nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "ws: cannot hijack the connection", http.StatusInternalServerError)
		return nil, fmt.Errorf("ws: hijack: %w", err)
	}
	// Bytes the HTTP server read past the request (a client may send its
	// first frame right behind the handshake) are replayed before the
	// socket; the server's buffers are dropped, not kept for the
	// connection's life.
	var pre []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		pre = append([]byte(nil), b...)
	}
	_ = nc.SetDeadline(time.Time{})
	resp := make([]byte, 0, 160)
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	resp = append(resp, AcceptKey(r.Header.Get("Sec-WebSocket-Key"))...)
	resp = append(resp, "\r\n\r\n"...)
	if opts.HandshakeTimeout > 0 {
		_ = nc.SetWriteDeadline(time.Now().Add(opts.HandshakeTimeout))
	}
	if _, err := nc.Write(resp); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("ws: write handshake response: %w", err)
	}
	_ = nc.SetWriteDeadline(time.Time{})
	return newConn(nc, pre, opts), nil
}

// Server returns a Conn for an established server-side WebSocket over nc
// (the handshake already done, e.g. in tests or by another HTTP stack).
// pre holds bytes already read from nc after the handshake.
func Server(nc net.Conn, pre []byte, opts Options) *Conn {
	return newConn(nc, pre, opts)
}
