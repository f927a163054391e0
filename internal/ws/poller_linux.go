//go:build linux

package ws

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/live-go/live/internal/shard"
)

// poller waits for input on many connections with one goroutine and one
// epoll instance, so a connection waiting for its next message needs no
// goroutine of its own. Registrations are one-shot: a connection arms it,
// its callback runs once (on a new goroutine) when input may be there or
// when the connection closes, and it arms again when it wants more. The
// loop goroutine runs only while some connection is armed; it exits when
// none is (and starts again on the next arm), so nothing runs for a server
// without connections.
type poller struct {
	mu    sync.Mutex
	epfd  int // -1 until first use
	wakeR int // read end of the pipe that interrupts epoll_wait
	wakeW int
	next  uint32
	// tokens are allocated to connections not yet closed; armed holds the
	// callbacks waiting. Both give their memory back after a burst (ten
	// thousand idle connections closing).
	tokens  shard.Shrinking[uint32, struct{}]
	armed   shard.Shrinking[uint32, func()]
	running bool
	initErr error
}

// wakeToken is the epoll token of the wake pipe; connection tokens are
// never 0.
const wakeToken = 0

var defaultPoller = &poller{epfd: -1}

// init creates the epoll instance and the wake pipe. p.mu is held.
func (p *poller) init() error {
	if p.epfd >= 0 || p.initErr != nil {
		return p.initErr
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		p.initErr = fmt.Errorf("ws: epoll_create1: %w", err)
		return p.initErr
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		_ = syscall.Close(epfd)
		p.initErr = fmt.Errorf("ws: pipe2: %w", err)
		return p.initErr
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: wakeToken}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fds[0], &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(fds[0])
		_ = syscall.Close(fds[1])
		p.initErr = fmt.Errorf("ws: epoll_ctl(wake): %w", err)
		return p.initErr
	}
	p.epfd, p.wakeR, p.wakeW = epfd, fds[0], fds[1]
	return nil
}

// token returns a fresh connection token. p.mu is held.
func (p *poller) token() uint32 {
	for {
		p.next++
		if p.next == wakeToken {
			continue
		}
		if _, used := p.tokens.Load(p.next); !used {
			p.tokens.Store(p.next, struct{}{})
			return p.next
		}
	}
}

// arm registers fd (first time: add; later: re-arm) to call fn once. It
// must run inside the connection's RawConn.Control, so fd stays open.
// c's poll fields are guarded by p.mu.
func (p *poller) arm(c *Conn, fd int, fn func()) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.pollClosed {
		return ErrClosed
	}
	if err := p.init(); err != nil {
		return err
	}
	op := syscall.EPOLL_CTL_MOD
	if c.pollToken == 0 {
		c.pollToken = p.token()
		c.pollUsed.Store(true)
		op = syscall.EPOLL_CTL_ADD
	}
	p.armed.Store(c.pollToken, fn)
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(c.pollToken),
	}
	if err := syscall.EpollCtl(p.epfd, op, fd, &ev); err != nil {
		p.armed.Delete(c.pollToken)
		if op == syscall.EPOLL_CTL_ADD {
			p.tokens.Delete(c.pollToken)
			c.pollToken = 0
		}
		return fmt.Errorf("ws: epoll_ctl: %w", err)
	}
	if !p.running {
		p.running = true
		go p.loop()
	}
	return nil
}

// closed unregisters c, whose fd is about to close (inside Control). An
// armed callback runs now, so whoever waits for it learns of the close.
func (p *poller) closed(c *Conn, fd int) {
	p.mu.Lock()
	c.pollClosed = true
	var fn func()
	if c.pollToken != 0 {
		fn, _ = p.armed.Load(c.pollToken)
		p.armed.Delete(c.pollToken)
		p.tokens.Delete(c.pollToken)
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		if p.armed.Len() == 0 && p.running {
			p.wake()
		}
	}
	p.mu.Unlock()
	if fn != nil {
		go fn()
	}
}

// wake interrupts epoll_wait so the loop can see it has nothing armed.
func (p *poller) wake() {
	b := [1]byte{1}
	_, _ = syscall.Write(p.wakeW, b[:])
}

// loop delivers readiness until no connection is armed.
func (p *poller) loop() {
	events := make([]syscall.EpollEvent, 128)
	var drain [64]byte
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil && err != syscall.EINTR {
			// Cannot happen with a valid epfd; hand every waiter its
			// callback so no connection hangs, and stop.
			p.mu.Lock()
			fns := make([]func(), 0, p.armed.Len())
			for _, fn := range p.armed.All() {
				fns = append(fns, fn)
			}
			p.armed = shard.Shrinking[uint32, func()]{}
			p.running = false
			p.mu.Unlock()
			for _, fn := range fns {
				go fn()
			}
			return
		}
		for i := range max(n, 0) {
			tok := uint32(events[i].Fd)
			if tok == wakeToken {
				for {
					if k, _ := syscall.Read(p.wakeR, drain[:]); k <= 0 {
						break
					}
				}
				continue
			}
			p.mu.Lock()
			fn, _ := p.armed.Load(tok)
			p.armed.Delete(tok)
			p.mu.Unlock()
			if fn != nil {
				go fn()
			}
		}
		p.mu.Lock()
		if p.armed.Len() == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

// NotifyReadable arranges for fn to run once, on a goroutine of its own,
// when input may be available or the connection has closed. Use it after
// TryRead reported ErrWouldBlock. It returns errors.ErrUnsupported for a
// connection without a file descriptor (see CanNotify).
func (c *Conn) NotifyReadable(fn func()) error {
	if c.rc == nil {
		return errors.ErrUnsupported
	}
	var aerr error
	if err := c.rc.Control(func(fd uintptr) { aerr = defaultPoller.arm(c, int(fd), fn) }); err != nil {
		return fmt.Errorf("ws: %w", err)
	}
	return aerr
}

// CanNotify reports whether NotifyReadable works on this connection.
func (c *Conn) CanNotify() bool { return c.rc != nil }

// unregister removes c from the poller before its fd closes.
func (c *Conn) unregister() {
	if c.rc == nil || !c.pollUsed.Load() {
		return
	}
	_ = c.rc.Control(func(fd uintptr) { defaultPoller.closed(c, int(fd)) })
}
