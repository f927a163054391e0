package httpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Event is one dispatched Server-Sent Event.
type Event struct {
	// Type is the event name; "message" when the event named none.
	Type string
	// Data is the event's data lines joined with LF. It is valid only
	// until the next call to Decoder.Next.
	Data []byte
}

// ErrEventTooLarge reports an event (or a single line) larger than the
// Decoder's limit.
var ErrEventTooLarge = errors.New("httpwire: event too large")

// Decoder reads events from a text/event-stream body, following the
// parsing rules of the HTML event-stream format: lines end at CRLF, CR or
// LF; a leading byte-order mark is skipped; lines starting with ':' are
// comments; "event" and "data" fields are honoured ("id" and "retry" are
// ignored); one space after the colon is dropped; an event is dispatched at
// a blank line if it has at least one data line; a partial event at the end
// of the stream is discarded.
type Decoder struct {
	r        *bufio.Reader
	max      int
	line     []byte
	data     []byte
	typ      []byte
	started  bool // the byte-order mark check is done
	skipLF   bool // the previous line ended with CR: a following LF belongs to it
	comments int  // comment lines seen (heartbeats); for tests and metrics
}

// NewDecoder returns a Decoder reading r. maxEvent bounds the bytes of one
// line and of one event's data; Next fails with ErrEventTooLarge beyond
// it. Memory use is O(maxEvent).
func NewDecoder(r io.Reader, maxEvent int) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 16<<10), max: maxEvent}
}

// Comments returns the number of comment lines (such as ": ping"
// heartbeats) read so far.
func (d *Decoder) Comments() int { return d.comments }

// Next returns the next event. At the end of the stream it returns io.EOF,
// or io.ErrUnexpectedEOF if the stream ended inside an event.
func (d *Decoder) Next() (Event, error) {
	if !d.started {
		d.started = true
		if bom, err := d.r.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
			_, _ = d.r.Discard(3)
		}
	}
	d.data = d.data[:0]
	d.typ = d.typ[:0]
	hasData := false
	pending := false // some line of the current event has been read
	for {
		line, err := d.readLine()
		if err != nil {
			if err == io.EOF && (pending || len(line) > 0) {
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !hasData {
				d.typ = d.typ[:0]
				pending = false
				continue
			}
			data := d.data
			if n := len(data); n > 0 && data[n-1] == '\n' {
				data = data[:n-1]
			}
			return Event{Type: eventName(d.typ), Data: data}, nil
		}
		pending = true
		if line[0] == ':' {
			d.comments++
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			d.typ = append(d.typ[:0], value...)
		case "data":
			if len(d.data)+len(value)+1 > d.max {
				return Event{}, fmt.Errorf("%w: data over %d bytes", ErrEventTooLarge, d.max)
			}
			d.data = append(d.data, value...)
			d.data = append(d.data, '\n')
			hasData = true
		}
	}
}

// eventName returns the event type, without allocating for the names of
// the protocol.
func eventName(b []byte) string {
	switch string(b) {
	case "", EventMessage:
		return EventMessage
	case EventBinary:
		return EventBinary
	case EventClose:
		return EventClose
	case EventSession:
		return EventSession
	}
	return string(b)
}

// readLine returns the next line without its line end. The slice is valid
// until the next call. At the end of the stream it returns the partial
// line read so far with io.EOF.
func (d *Decoder) readLine() ([]byte, error) {
	d.line = d.line[:0]
	for {
		if d.r.Buffered() == 0 {
			if _, err := d.r.Peek(1); err != nil {
				if err == io.EOF {
					return d.line, io.EOF
				}
				return nil, fmt.Errorf("httpwire: read event stream: %w", err)
			}
		}
		buf, _ := d.r.Peek(d.r.Buffered())
		if d.skipLF {
			d.skipLF = false
			if buf[0] == '\n' {
				_, _ = d.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		if len(d.line)+n > d.max {
			return nil, fmt.Errorf("%w: line over %d bytes", ErrEventTooLarge, d.max)
		}
		d.line = append(d.line, buf[:n]...)
		if i < 0 {
			_, _ = d.r.Discard(n)
			continue
		}
		d.skipLF = buf[i] == '\r'
		_, _ = d.r.Discard(i + 1)
		return d.line, nil
	}
}
