package live

// RegistrySizes reports how many entries each of s's registries holds, for
// leak checks in the external tests.
func RegistrySizes(s *Server) map[string]int {
	s.singletonMu.Lock()
	singletons := len(s.singletons)
	s.singletonMu.Unlock()
	s.broadcast.mu.RLock()
	groups := len(s.broadcast.groups)
	s.broadcast.mu.RUnlock()
	return map[string]int{
		"connections":     s.conns.Len(),
		"instances":       s.instances.Len(),
		"singletons":      singletons,
		"broadcastGroups": groups,
		"rooms":           s.rooms.Len(),
	}
}
