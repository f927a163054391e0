package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// Transport selects how a [Client] reaches the server (spec §1.12). Every
// transport carries the same frames; the HTTP-based ones are for networks
// that block WebSockets.
type Transport uint8

// Transports.
const (
	// TransportWebSocket opens one WebSocket at the URL given to Dial
	// (ws:// or wss://). The default.
	TransportWebSocket Transport = iota
	// TransportSSE reads a Server-Sent Events stream and posts each frame:
	// the URL's final "/ws" becomes "/sse" and ws(s) becomes http(s).
	TransportSSE
	// TransportHTTP long-polls and posts each frame: the URL's final "/ws"
	// becomes "/http" and ws(s) becomes http(s).
	TransportHTTP
)

// String returns the transport's name.
func (t Transport) String() string {
	switch t {
	case TransportWebSocket:
		return "websocket"
	case TransportSSE:
		return "sse"
	case TransportHTTP:
		return "http"
	}
	return fmt.Sprintf("Transport(%d)", uint8(t))
}

// sessionHeader carries the session token of the HTTP-based transports.
const sessionHeader = "X-Live-Session"

// dialerFor returns the function that opens one connection of c over t.
// This is the hook for Options.Transport: newClient sets
// c.dial = c.dialerFor(opts.Transport).
func (c *Client) dialerFor(t Transport) func(context.Context) (wsConn, error) {
	switch t {
	case TransportSSE:
		return c.dialSSE
	case TransportHTTP:
		return c.dialHTTP
	}
	return c.dialWebSocket
}

// endpointURL derives the URL of an HTTP-based transport from the
// WebSocket URL: ws→http, wss→https, and a final "/ws" path segment
// replaced by "/"+endpoint. An http(s) URL already ending in
// "/"+endpoint is used as it is.
func endpointURL(wsURL, endpoint string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return "", fmt.Errorf("client: %s endpoint from %q: %w", endpoint, wsURL, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return "", fmt.Errorf("client: %s endpoint from %q: scheme must be ws, wss, http or https", endpoint, wsURL)
	}
	switch {
	case strings.HasSuffix(u.Path, "/"+endpoint):
	case strings.HasSuffix(u.Path, "/ws"):
		u.Path = strings.TrimSuffix(u.Path, "ws") + endpoint
		u.RawPath = ""
	default:
		return "", fmt.Errorf("client: %s endpoint from %q: the path must end with /ws or /%s", endpoint, wsURL, endpoint)
	}
	return u.String(), nil
}

// httpClient returns the HTTP client of the HTTP-based transports.
func (c *Client) httpClient() *http.Client {
	if c.opts.HTTPClient != nil {
		return c.opts.HTTPClient
	}
	return http.DefaultClient
}

// newRequest builds a request carrying Options.Header and the token.
func (c *Client) newRequest(ctx context.Context, method, url, token string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, url, err)
	}
	for k, v := range c.opts.Header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set(sessionHeader, token)
	}
	return req, nil
}

// discard drains (a little of) and closes a response body so the
// connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
}

// openRefused is the error of an opening request refused with status
// (403 is an origin rejection: close code 4003, never retried).
func openRefused(kind string, resp *http.Response) error {
	if resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("client: %s open: %w", kind, websocket.CloseError{Code: closeOriginNotAllowed, Reason: "Forbidden"})
	}
	return fmt.Errorf("client: %s open: unexpected status %s", kind, resp.Status)
}

// sessionLost is the error of a request whose session the server no
// longer knows (401, 404, 410): the connection is over (close 1006).
func sessionLost(kind string, status int) error {
	return fmt.Errorf("client: %s: session lost (status %d): %w", kind, status,
		websocket.CloseError{Code: websocket.StatusAbnormalClosure, Reason: "session lost"})
}

func isSessionLost(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusNotFound || status == http.StatusGone
}

// postFrame sends one frame with POST {endpoint}/send: 204 is success.
func (c *Client) postFrame(ctx context.Context, kind, url, token string, typ websocket.MessageType, p []byte) error {
	req, err := c.newRequest(ctx, http.MethodPost, url, token, p)
	if err != nil {
		return err
	}
	if typ == websocket.MessageBinary {
		req.Header.Set("Content-Type", "application/octet-stream")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("client: %s send: %w", kind, err)
	}
	defer discard(resp)
	switch {
	case resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK:
		return nil
	case isSessionLost(resp.StatusCode):
		return sessionLost(kind+" send", resp.StatusCode)
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("client: %s send: frame of %d bytes: %w", kind, len(p), websocket.ErrMessageTooBig)
	}
	return fmt.Errorf("client: %s send: unexpected status %s", kind, resp.Status)
}

// lifetime is a connection's lifetime context, cancelled by CloseNow or
// Close, plus the close status the connection reports once ended by this
// side.
type lifetime struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	closeErr error           // set by Close: what Read returns afterwards
	readCtx  context.Context // the Read context already linked to ctx
	unlink   func() bool
}

func newLifetime() *lifetime {
	l := &lifetime{}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// link makes the end of ctx (a Read's context) end the connection, once
// per distinct context.
func (l *lifetime) link(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readCtx == ctx {
		return
	}
	if l.unlink != nil {
		l.unlink()
	}
	l.readCtx = ctx
	l.unlink = context.AfterFunc(ctx, l.cancel)
}

// end records why this side ended the connection (the first reason
// counts) and cancels it.
func (l *lifetime) end(err error) {
	l.mu.Lock()
	if l.closeErr == nil {
		l.closeErr = err
	}
	if l.unlink != nil {
		l.unlink()
		l.unlink = nil
	}
	l.mu.Unlock()
	l.cancel()
}

// err returns the error a read reports after a failure cause: the close
// status if this side closed the connection, else cause.
func (l *lifetime) err(cause error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closeErr != nil {
		return l.closeErr
	}
	return cause
}
