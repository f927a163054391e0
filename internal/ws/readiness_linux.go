//go:build linux

package ws

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// readinessWaiter returns a function that blocks until nc has data to read
// (or is closed), without a read buffer: the runtime's poller parks the
// goroutine, and a one-byte MSG_PEEK tells data from "not yet". It returns
// nil when nc exposes no file descriptor (TLS, pipes). It also returns the
// connection's RawConn, for the poller.
func readinessWaiter(nc net.Conn) (syscall.RawConn, func() error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	peek := new([1]byte)
	probe := func(fd uintptr) bool {
		_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&peek[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		// EAGAIN: nothing yet, wait for the poller. Anything else (data,
		// EOF, an error) is for the real read to report.
		return e != syscall.EAGAIN
	}
	return rc, func() error { return rc.Read(probe) }
}

// readNow reads what the socket holds into p: ErrWouldBlock when it holds
// nothing (after waiting up to waitFor for input, when set), io.EOF when
// the peer closed. Reader only.
func (c *Conn) readNow(p []byte) (int, error) {
	if c.rn.fn == nil {
		// Built once per connection: a closure per call would allocate.
		c.rn.fn = func(fd uintptr) bool {
			for {
				c.rn.n, c.rn.errno = syscall.Read(int(fd), c.rn.p)
				switch {
				case c.rn.errno == syscall.EINTR:
					continue
				case c.rn.errno == syscall.EAGAIN && c.rn.wait:
					return false // RawRead parks in the poller, then calls again
				}
				return true
			}
		}
	}
	wait := c.waitFor > 0
	if wait {
		if want := time.Now().Add(c.waitFor); want.Sub(c.deadline) > deadlineSlack {
			_ = c.nc.SetReadDeadline(want)
			c.deadline = want
		}
	}
	c.rn.p, c.rn.wait = p, wait
	err := c.rc.Read(c.rn.fn)
	if err != nil && !c.deadline.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
		_ = c.nc.SetReadDeadline(time.Time{})
		c.deadline = time.Time{}
		if wait {
			err, c.rn.errno = nil, syscall.EAGAIN // nothing came within waitFor
		} else {
			// The deadline of an earlier wait passed while a message
			// was handled.
			err = c.rc.Read(c.rn.fn)
		}
	}
	n, errno := c.rn.n, c.rn.errno
	c.rn.p, c.rn.errno, c.rn.wait = nil, nil, false
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case errno != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: errno}
	case n <= 0:
		return 0, io.EOF
	}
	return n, nil
}

// writeNow writes hdr and data with one writev that never waits: it
// returns how many bytes the socket took (0 when its buffer is full). wmu
// must be held.
func (c *Conn) writeNow(hdr, data []byte) (int, error) {
	if c.wn.fn == nil {
		// Built once per connection: a closure per call would allocate.
		c.wn.fn = func(fd uintptr) bool {
			for {
				r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&c.wn.iov[0])), uintptr(c.wn.parts))
				if e == syscall.EINTR {
					continue
				}
				c.wn.n, c.wn.errno = int(r), nil
				if e != 0 {
					c.wn.n, c.wn.errno = 0, e
				}
				return true // never wait: the caller keeps what was not taken
			}
		}
	}
	c.wn.iov[0] = syscall.Iovec{Base: &hdr[0]}
	c.wn.iov[0].SetLen(len(hdr))
	c.wn.parts = 1
	if len(data) > 0 {
		c.wn.iov[1] = syscall.Iovec{Base: &data[0]}
		c.wn.iov[1].SetLen(len(data))
		c.wn.parts = 2
	}
	err := c.rc.Write(c.wn.fn)
	n, errno := c.wn.n, c.wn.errno
	c.wn.iov = [2]syscall.Iovec{} // hold no reference to the caller's bytes
	c.wn.errno = nil
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, nil
	case errno != nil:
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: errno}
	}
	return n, nil
}
