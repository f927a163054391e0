package live

// compSet is a connection's components by the id they were attached
// under. Most connections hold a few, so it is a slice, searched linearly,
// until it holds more than smallComps; then a map. An idle connection's
// one component costs a 32-byte slice instead of a map's ~350 bytes.
type compSet struct {
	list []compEntry
	m    map[string]*instance // beyond smallComps (list is then nil)
	torn bool                 // the connection was torn down: no more adds
}

type compEntry struct {
	id string
	in *instance
}

const smallComps = 16

func (s *compSet) get(id string) *instance {
	if s.m != nil {
		return s.m[id]
	}
	for i := range s.list {
		if s.list[i].id == id {
			return s.list[i].in
		}
	}
	return nil
}

// add attaches in under id (replacing an entry with the same id); it
// reports false once the set was torn down.
func (s *compSet) add(id string, in *instance) bool {
	switch {
	case s.torn:
		return false
	case s.m != nil:
		s.m[id] = in
		return true
	}
	for i := range s.list {
		if s.list[i].id == id {
			s.list[i].in = in
			return true
		}
	}
	if len(s.list) < smallComps {
		s.list = append(s.list, compEntry{id, in})
		return true
	}
	s.m = make(map[string]*instance, 2*smallComps)
	for _, e := range s.list {
		s.m[e.id] = e.in
	}
	s.m[id] = in
	s.list = nil
	return true
}

// remove detaches id and returns its instance (nil if absent).
func (s *compSet) remove(id string) *instance {
	if s.m != nil {
		in := s.m[id]
		delete(s.m, id)
		return in
	}
	for i := range s.list {
		if s.list[i].id == id {
			in := s.list[i].in
			last := len(s.list) - 1
			s.list[i] = s.list[last]
			s.list[last] = compEntry{}
			s.list = s.list[:last]
			return in
		}
	}
	return nil
}

// all returns a copy of the instances.
func (s *compSet) all() []*instance {
	out := make([]*instance, 0, max(len(s.list), len(s.m)))
	for _, e := range s.list {
		out = append(out, e.in)
	}
	for _, in := range s.m {
		out = append(out, in)
	}
	return out
}

// tearDown empties the set for good and returns what it held.
func (s *compSet) tearDown() []*instance {
	out := s.all()
	s.list, s.m, s.torn = nil, nil, true
	return out
}
