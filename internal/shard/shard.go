// Package shard provides a string-keyed map split into independently locked
// shards, so registries of connections and components scale with cores
// instead of serialising on one lock (design §4).
package shard

import (
	"iter"
	"sync"
)

const shardCount = 64

// Map is a concurrent map from string keys to V. The zero value is ready to
// use. Callbacks passed to Range run without any shard lock held on the
// entries they see, so they may call back into the map.
//
// A Go map never gives back the table it grew to, so a shard that held many
// entries once (a burst of connections, components kept for resuming
// clients) would keep that memory for the life of the process. A shard is
// therefore rebuilt at its current size when deletes have brought it down
// to an eighth of its high-water mark: amortised O(1) per delete.
type Map[V any] struct {
	shards [shardCount]shard[V]
}

type shard[V any] struct {
	mu sync.RWMutex
	m  Shrinking[string, V]
}

// Shrinking is a plain map that gives its memory back after a burst: it is
// rebuilt at its current size once deletes have brought it down to an
// eighth of its high-water mark (when that mark is at least 64), which is
// amortised O(1) per delete. The zero value is ready to use. It is not safe
// for concurrent use.
type Shrinking[K comparable, V any] struct {
	m  map[K]V
	hw int // most entries since m was made
}

// Rebuild thresholds: a map is rebuilt once its high-water mark is at
// least shrinkMin and it holds at most hw/shrinkRatio entries.
const (
	shrinkMin   = 64
	shrinkRatio = 8
)

// Load returns the value for key.
func (s *Shrinking[K, V]) Load(key K) (V, bool) {
	v, ok := s.m[key]
	return v, ok
}

// Store sets the value for key.
func (s *Shrinking[K, V]) Store(key K, v V) {
	if s.m == nil {
		s.m = make(map[K]V)
	}
	s.m[key] = v
	s.hw = max(s.hw, len(s.m))
}

// Delete removes key, and rebuilds the map when it has shrunk enough.
func (s *Shrinking[K, V]) Delete(key K) {
	delete(s.m, key)
	if s.hw < shrinkMin || len(s.m) > s.hw/shrinkRatio {
		return
	}
	if len(s.m) == 0 {
		s.m, s.hw = nil, 0
		return
	}
	m := make(map[K]V, len(s.m))
	for k, v := range s.m {
		m[k] = v
	}
	s.m, s.hw = m, len(m)
}

// Len counts the entries.
func (s *Shrinking[K, V]) Len() int { return len(s.m) }

// All yields every entry; deleting the entry being visited is allowed.
func (s *Shrinking[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, v := range s.m {
			if !yield(k, v) {
				return
			}
		}
	}
}

func index(key string) uint32 {
	// FNV-1a: cheap, good enough spread for random ids.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h % shardCount
}

// Load returns the value for key.
func (m *Map[V]) Load(key string) (V, bool) {
	s := &m.shards[index(key)]
	s.mu.RLock()
	v, ok := s.m.Load(key)
	s.mu.RUnlock()
	return v, ok
}

// Store sets the value for key.
func (m *Map[V]) Store(key string, v V) {
	s := &m.shards[index(key)]
	s.mu.Lock()
	s.m.Store(key, v)
	s.mu.Unlock()
}

// StoreIfAbsent stores v under key unless the key exists, and reports
// whether it stored.
func (m *Map[V]) StoreIfAbsent(key string, v V) bool {
	s := &m.shards[index(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m.Load(key); ok {
		return false
	}
	s.m.Store(key, v)
	return true
}

// Delete removes key.
func (m *Map[V]) Delete(key string) {
	s := &m.shards[index(key)]
	s.mu.Lock()
	s.m.Delete(key)
	s.mu.Unlock()
}

// CompareAndDelete removes key only while eq reports true for its current
// value, and reports whether it removed it.
func (m *Map[V]) CompareAndDelete(key string, eq func(V) bool) bool {
	s := &m.shards[index(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m.Load(key)
	if !ok || !eq(v) {
		return false
	}
	s.m.Delete(key)
	return true
}

// Len counts the entries.
func (m *Map[V]) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += s.m.Len()
		s.mu.RUnlock()
	}
	return n
}

// Range calls fn for a snapshot of each shard's entries until fn returns
// false. Entries added or removed during Range may or may not be seen.
func (m *Map[V]) Range(fn func(key string, v V) bool) {
	type kv struct {
		k string
		v V
	}
	var buf []kv
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		buf = buf[:0]
		for k, v := range s.m.All() {
			buf = append(buf, kv{k, v})
		}
		s.mu.RUnlock()
		for _, e := range buf {
			if !fn(e.k, e.v) {
				return
			}
		}
	}
}
