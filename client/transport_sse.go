package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	"github.com/live-go/live/internal/httpwire"
)

// sseConn is one connection over the SSE transport: a GET stream of
// events read by the client's reader goroutine, and one POST per frame
// written (writes are already serialized by the client).
type sseConn struct {
	c       *Client
	sendURL string
	token   string
	body    io.ReadCloser
	dec     *httpwire.Decoder
	life    *lifetime
	maxMsg  int64
}

var _ wsConn = (*sseConn)(nil)

// dialSSE opens the event stream and waits for its session event. ctx
// bounds the opening only; the stream lives until the connection is
// closed.
func (c *Client) dialSSE(ctx context.Context) (wsConn, error) {
	streamURL, err := endpointURL(c.url, "sse")
	if err != nil {
		return nil, err
	}
	life := newLifetime()
	stop := context.AfterFunc(ctx, life.cancel)
	conn, err := c.openSSE(life, streamURL)
	if !stop() && err == nil { // ctx ended while opening
		err = fmt.Errorf("client: SSE open: %w", ctx.Err())
		_ = conn.CloseNow()
	}
	if err != nil {
		life.cancel()
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, err
	}
	return conn, nil
}

func (c *Client) openSSE(life *lifetime, streamURL string) (*sseConn, error) {
	req, err := c.newRequest(life.ctx, http.MethodGet, streamURL, "", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: SSE open %s: %w", streamURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer discard(resp)
		return nil, openRefused("SSE", resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/event-stream") {
		discard(resp)
		return nil, fmt.Errorf("client: SSE open: content type %q, want text/event-stream", ct)
	}
	// A binary frame of MaxMessageSize bytes is 4/3 larger in base64.
	maxEvent := c.opts.MaxMessageSize/3*4 + 8
	conn := &sseConn{
		c:       c,
		sendURL: streamURL + "/send",
		body:    resp.Body,
		dec:     httpwire.NewDecoder(resp.Body, int(min(maxEvent, 1<<40))),
		life:    life,
		maxMsg:  c.opts.MaxMessageSize,
	}
	ev, err := conn.dec.Next()
	if err != nil {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("client: SSE open: waiting for the session event: %w", err)
	}
	if ev.Type != httpwire.EventSession {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("client: SSE open: first event %q, want %q", ev.Type, httpwire.EventSession)
	}
	if conn.token, err = httpwire.ParseToken(ev.Data); err != nil {
		_ = resp.Body.Close()
		return nil, fmt.Errorf("client: SSE open: %w", err)
	}
	return conn, nil
}

// Read returns the next frame of the stream. A "close" event ends the
// connection with its code and reason (read them with
// websocket.CloseStatus); comments and unknown events are skipped.
func (s *sseConn) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	s.life.link(ctx)
	for {
		ev, err := s.dec.Next()
		if err != nil {
			_ = s.body.Close()
			if errors.Is(err, httpwire.ErrEventTooLarge) {
				err = fmt.Errorf("%w: %w", websocket.ErrMessageTooBig, err)
			}
			return 0, nil, s.life.err(fmt.Errorf("client: SSE stream: %w", err))
		}
		switch ev.Type {
		case httpwire.EventMessage:
			if int64(len(ev.Data)) > s.maxMsg {
				return 0, nil, s.tooBig(len(ev.Data))
			}
			return websocket.MessageText, bytes.Clone(ev.Data), nil
		case httpwire.EventBinary:
			data, err := base64.StdEncoding.AppendDecode(nil, ev.Data)
			if err != nil {
				_ = s.CloseNow()
				return 0, nil, fmt.Errorf("client: SSE binary event: %w", err)
			}
			if int64(len(data)) > s.maxMsg {
				return 0, nil, s.tooBig(len(data))
			}
			return websocket.MessageBinary, data, nil
		case httpwire.EventClose:
			_ = s.body.Close()
			s.life.cancel()
			st, err := httpwire.ParseClose(ev.Data)
			if err != nil {
				return 0, nil, fmt.Errorf("client: SSE close event: %w", err)
			}
			return 0, nil, s.life.err(fmt.Errorf("client: SSE stream closed: %w",
				websocket.CloseError{Code: websocket.StatusCode(st.Code), Reason: st.Reason}))
		}
	}
}

func (s *sseConn) tooBig(n int) error {
	_ = s.CloseNow()
	return fmt.Errorf("client: SSE frame of %d bytes over MaxMessageSize: %w", n, websocket.ErrMessageTooBig)
}

// Write posts one frame.
func (s *sseConn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	if err := s.life.ctx.Err(); err != nil {
		return s.life.err(fmt.Errorf("client: SSE send: %w", net.ErrClosed))
	}
	return s.c.postFrame(ctx, "SSE", s.sendURL, s.token, typ, p)
}

// Close ends the stream; the server sees the client go away. Read then
// reports code and reason.
func (s *sseConn) Close(code websocket.StatusCode, reason string) error {
	s.life.end(fmt.Errorf("client: SSE closed: %w", websocket.CloseError{Code: code, Reason: reason}))
	return nil
}

// CloseNow ends the stream at once.
func (s *sseConn) CloseNow() error {
	s.life.end(fmt.Errorf("client: SSE connection closed: %w", net.ErrClosed))
	return nil
}
