package diff

// Apply merges delta into state in place with the client-side rules of the
// protocol (spec §2.8, the deepMerge of every client) and returns state
// (allocated when nil). At depth 0 a nil value is stored as nil (JSON null);
// deeper, a nil value deletes the key. Two maps are merged recursively; any
// other value overwrites. An object stored where the state held no object is
// a fresh copy of the delta's map with its nested nulls dropped, so the state
// never aliases the delta's maps (arrays and scalars are stored as they are).
// Values are expected to be what encoding/json produces for interface{}
// targets.
func Apply(state, delta map[string]any) map[string]any {
	if state == nil {
		state = make(map[string]any, len(delta))
	}
	applyAt(state, delta, 0)
	return state
}

func applyAt(dst, delta map[string]any, depth int) {
	for k, v := range delta {
		if v == nil {
			if depth == 0 {
				dst[k] = nil
			} else {
				delete(dst, k)
			}
			continue
		}
		if src, ok := v.(map[string]any); ok {
			if cur, ok := dst[k].(map[string]any); ok {
				applyAt(cur, src, depth+1)
				continue
			}
			// A fresh object: copy so later merges never alias the delta, and
			// drop nested nulls (a nested null cannot be stored).
			fresh := make(map[string]any, len(src))
			applyAt(fresh, src, depth+1)
			dst[k] = fresh
			continue
		}
		dst[k] = v
	}
}
