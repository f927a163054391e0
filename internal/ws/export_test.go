package ws

// bufferHeld reports, without taking rmu (the reader holds it while it
// waits), whether the reader holds a read buffer. Tests only: it races
// with a running reader by design and must be called while it waits.
func bufferHeld(c *Conn) bool {
	return c.rbHeld.Load()
}
