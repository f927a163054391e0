package live

import (
	"sync"
	"time"
)

// actionHealth counts one action's calls in the current fixed window of
// Options.ActionWarnings, so that its slow-action and error-rate warnings
// are logged at most once per window each.
type actionHealth struct {
	mu         sync.Mutex
	start      time.Time // start of the current window
	calls      int
	errors     int
	slowWarned bool
	errWarned  bool
}

// record counts one call that took d (failed if failed) at now, and
// reports which warnings to log, with the window's counts.
func (h *actionHealth) record(w *ActionWarningOptions, now time.Time, d time.Duration, failed bool) (slow, errRate bool, calls, errs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.start.IsZero() || now.Sub(h.start) >= w.Window {
		h.start, h.calls, h.errors, h.slowWarned, h.errWarned = now, 0, 0, false, false
	}
	h.calls++
	if failed {
		h.errors++
	}
	if w.SlowAction >= 0 && d >= w.SlowAction && !h.slowWarned {
		h.slowWarned, slow = true, true
	}
	if failed && w.ErrorRate > 0 && !h.errWarned && h.calls >= w.ErrorRateMinCalls &&
		float64(h.errors) >= w.ErrorRate*float64(h.calls) {
		h.errWarned, errRate = true, true
	}
	return slow, errRate, h.calls, h.errors
}

// warnAction applies Options.ActionWarnings to one completed call of action
// on a def component; info is the registered action (nil for names the
// component does not have, which share def's entry).
func (s *Server) warnAction(def *componentDef, info *actionInfo, action string, d time.Duration, failed bool) {
	w := &s.opts.ActionWarnings
	if w.SlowAction < 0 && w.ErrorRate < 0 {
		return
	}
	h := &def.unknownHealth
	if info != nil {
		h = &info.health
	}
	slow, errRate, calls, errs := h.record(w, time.Now(), d, failed)
	if slow {
		s.log.Warn("live: slow action", "component", def.name, "action", action,
			"duration", d, "threshold", w.SlowAction, "window", w.Window)
	}
	if errRate {
		s.log.Warn("live: high action error rate", "component", def.name, "action", action,
			"calls", calls, "errors", errs, "window", w.Window)
	}
}
