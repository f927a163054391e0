package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/live-go/live/internal/httpwire"
)

// closeRequestTimeout bounds the POST {endpoint}/close sent by Close.
const closeRequestTimeout = 5 * time.Second

// pollConn is one connection over the HTTP long-polling transport: Read
// polls (on the client's reader goroutine, so no goroutine of its own) and
// Write posts one frame per request.
type pollConn struct {
	c       *Client
	base    string // GET base opens; base+"/poll", "/send", "/close"
	token   string
	life    *lifetime
	maxBody int64

	queue  []httpwire.Frame // frames received and not yet read; reader only
	closed *httpwire.Close  // the server's close status; reader only
}

var _ wsConn = (*pollConn)(nil)

// dialHTTP opens a long-poll session. ctx bounds the opening request.
func (c *Client) dialHTTP(ctx context.Context) (wsConn, error) {
	base, err := endpointURL(c.url, "http")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, base, "", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: long-poll open %s: %w", base, err)
	}
	defer discard(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, openRefused("long-poll", resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return nil, fmt.Errorf("client: long-poll open: %w", err)
	}
	token, err := httpwire.ParseToken(body)
	if err != nil {
		return nil, fmt.Errorf("client: long-poll open: %w", err)
	}
	return &pollConn{
		c:     c,
		base:  base,
		token: token,
		life:  newLifetime(),
		// A poll carries at most the server's queue bound (4 MiB by
		// default) of frames, base64 and JSON escaping included.
		maxBody: 2*c.opts.MaxMessageSize + 64<<10,
	}, nil
}

// Read returns the next frame, polling while none is queued. The server's
// close status ends the connection with its code and reason (read them
// with websocket.CloseStatus) after the frames that preceded it.
func (p *pollConn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	p.life.link(ctx)
	for len(p.queue) == 0 {
		if p.closed != nil {
			p.life.cancel()
			return 0, nil, p.life.err(fmt.Errorf("client: long-poll session closed: %w",
				websocket.CloseError{Code: websocket.StatusCode(p.closed.Code), Reason: p.closed.Reason}))
		}
		if err := p.poll(); err != nil {
			p.life.cancel()
			return 0, nil, p.life.err(err)
		}
	}
	f := p.queue[0]
	p.queue[0] = httpwire.Frame{}
	p.queue = p.queue[1:]
	if int64(len(f.Data)) > p.c.opts.MaxMessageSize {
		_ = p.CloseNow()
		return 0, nil, fmt.Errorf("client: long-poll frame of %d bytes over MaxMessageSize: %w", len(f.Data), websocket.ErrMessageTooBig)
	}
	if f.Binary {
		return websocket.MessageBinary, f.Data, nil
	}
	return websocket.MessageText, f.Data, nil
}

// poll performs one GET {endpoint}/poll and queues what it returns.
func (p *pollConn) poll() error {
	req, err := p.c.newRequest(p.life.ctx, http.MethodGet, p.base+"/poll", p.token, nil)
	if err != nil {
		return err
	}
	resp, err := p.c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("client: long-poll: %w", err)
	}
	defer discard(resp)
	switch {
	case resp.StatusCode == http.StatusOK:
	case isSessionLost(resp.StatusCode):
		return sessionLost("long-poll", resp.StatusCode)
	default:
		return fmt.Errorf("client: long-poll: unexpected status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBody+1))
	if err != nil {
		return fmt.Errorf("client: long-poll: %w", err)
	}
	if int64(len(body)) > p.maxBody {
		return fmt.Errorf("client: long-poll: response over %d bytes: %w", p.maxBody, websocket.ErrMessageTooBig)
	}
	pb, err := httpwire.ParsePollBody(body)
	if err != nil {
		return fmt.Errorf("client: long-poll: %w", err)
	}
	p.queue = append(p.queue, pb.Frames...)
	p.closed = pb.Closed
	return nil
}

// Write posts one frame.
func (p *pollConn) Write(ctx context.Context, typ websocket.MessageType, frame []byte) error {
	if err := p.life.ctx.Err(); err != nil {
		return p.life.err(fmt.Errorf("client: long-poll send: %w", net.ErrClosed))
	}
	return p.c.postFrame(ctx, "long-poll", p.base+"/send", p.token, typ, frame)
}

// Close ends the session on the server with POST {endpoint}/close (bounded
// by 5 s), then stops polling. Read then reports code and reason.
func (p *pollConn) Close(code websocket.StatusCode, reason string) error {
	if p.life.ctx.Err() != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeRequestTimeout)
	defer cancel()
	var err error
	req, rerr := p.c.newRequest(ctx, http.MethodPost, p.base+"/close", p.token, nil)
	if rerr == nil {
		resp, derr := p.c.httpClient().Do(req)
		if derr != nil {
			err = fmt.Errorf("client: long-poll close: %w", derr)
		} else {
			discard(resp)
		}
	}
	p.life.end(fmt.Errorf("client: long-poll closed: %w", websocket.CloseError{Code: code, Reason: reason}))
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// CloseNow stops polling at once. The server forgets the session after
// its session timeout.
func (p *pollConn) CloseNow() error {
	p.life.end(fmt.Errorf("client: long-poll connection closed: %w", net.ErrClosed))
	return nil
}
