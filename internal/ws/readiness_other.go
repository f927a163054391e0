//go:build !linux

package ws

import (
	"errors"
	"net"
	"syscall"
)

// readinessWaiter is only implemented on Linux; elsewhere a waiting reader
// holds its read buffer.
func readinessWaiter(net.Conn) (syscall.RawConn, func() error) { return nil, nil }

// NotifyReadable is only implemented on Linux.
func (c *Conn) NotifyReadable(func()) error { return errors.ErrUnsupported }

// CanNotify reports whether NotifyReadable works on this connection.
func (c *Conn) CanNotify() bool { return false }

func (c *Conn) unregister() {}

// readNow is only used by TryRead and ReadWait, which need NotifyReadable
// (Linux).
func (c *Conn) readNow([]byte) (int, error) { return 0, ErrWouldBlock }

// writeNow is only used by TryWrite when the connection has a RawConn
// (Linux).
func (c *Conn) writeNow(hdr, data []byte) (int, error) { return 0, errors.ErrUnsupported }
