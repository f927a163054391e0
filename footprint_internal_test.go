package live

import (
	"testing"
	"unsafe"
)

// An instance exists per mounted component and per component kept for a
// resuming client (up to Options.MaxDetached of them), so its size is
// idle and churn memory. The allocator rounds it up to a size class; this
// test keeps it inside the 384-byte class, so that a new field is weighed
// (move rarely used state behind a pointer, as deltaRing is) rather than
// silently costing the next class, 416 bytes.
func TestInstanceFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(instance{}); n > 384 {
		t.Errorf("instance is %d bytes, over the 384-byte size class", n)
	}
}
