package shard

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

func TestMapBasics(t *testing.T) {
	var m Map[int]
	if _, ok := m.Load("a"); ok {
		t.Fatal("empty map returned a value")
	}
	m.Store("a", 1)
	if !m.StoreIfAbsent("b", 2) || m.StoreIfAbsent("a", 9) {
		t.Fatal("StoreIfAbsent misreported")
	}
	if v, _ := m.Load("a"); v != 1 {
		t.Fatalf("a = %d, StoreIfAbsent overwrote", v)
	}
	if m.CompareAndDelete("a", func(v int) bool { return v == 2 }) {
		t.Fatal("CompareAndDelete deleted a non-matching value")
	}
	if !m.CompareAndDelete("a", func(v int) bool { return v == 1 }) {
		t.Fatal("CompareAndDelete kept a matching value")
	}
	m.Delete("b")
	if m.Len() != 0 {
		t.Fatalf("Len = %d after deletes", m.Len())
	}
}

func TestMapConcurrentAndRange(t *testing.T) {
	var m Map[int]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				m.Store(fmt.Sprintf("%d-%d", g, i), i)
			}
		}()
	}
	wg.Wait()
	if m.Len() != 4000 {
		t.Fatalf("Len = %d, want 4000", m.Len())
	}
	seen := 0
	m.Range(func(k string, v int) bool {
		seen++
		m.Delete(k) // Range must tolerate mutation from the callback
		return true
	})
	if seen != 4000 || m.Len() != 0 {
		t.Fatalf("Range saw %d, left %d", seen, m.Len())
	}
	n := 0
	m.Store("x", 1)
	m.Store("y", 1)
	m.Range(func(string, int) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Range continued after false: %d calls", n)
	}
}

// A burst of entries does not keep its table: once deletes bring a shard
// down to an eighth of its high-water mark it is rebuilt, and the live heap
// returns near where it was. Entries survive the rebuilds.
func TestMapGivesBackMemoryAfterABurst(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var m Map[*int]
	keep := new(int)
	m.Store("keep", keep)
	before := heap()
	const burst = 200_000
	keys := make([]string, burst)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%07d", i)
	}
	for _, k := range keys {
		m.Store(k, keep)
	}
	grown := heap()
	for i, k := range keys {
		if i%2 == 0 {
			m.Delete(k)
		} else {
			m.CompareAndDelete(k, func(*int) bool { return true })
		}
	}
	keys = nil
	after := heap()
	t.Logf("live heap: %d before, %d with %d entries, %d after deleting them", before, grown, burst, after)
	if v, ok := m.Load("keep"); !ok || v != keep || m.Len() != 1 {
		t.Fatalf("the entry stored before the burst: %v %v, Len %d", v, ok, m.Len())
	}
	// The burst's table is several MiB; allow 256 KiB of noise.
	if after > before+256<<10 {
		t.Fatalf("live heap %d after the burst was deleted, %d before it", after, before)
	}
}

// Shrinking rebuilds its table once deletes bring it to an eighth of its
// high-water mark, keeping every entry.
func TestShrinkingRebuildsAfterABurst(t *testing.T) {
	var s Shrinking[uint32, int]
	for i := range uint32(1000) {
		s.Store(i, int(i))
	}
	if s.hw != 1000 {
		t.Fatalf("high-water mark %d, want 1000", s.hw)
	}
	for i := range uint32(874) { // 126 left: above 1000/8
		s.Delete(i)
	}
	if s.hw != 1000 {
		t.Fatalf("rebuilt too early: high-water mark %d with %d entries", s.hw, s.Len())
	}
	s.Delete(874) // 125 = 1000/8: rebuilt at its size
	if s.hw != 125 || s.Len() != 125 {
		t.Fatalf("after the rebuild: high-water mark %d, %d entries; want 125, 125", s.hw, s.Len())
	}
	sum := 0
	for k, v := range s.All() {
		if int(k) != v || k < 875 {
			t.Fatalf("entry %d = %d after the rebuild", k, v)
		}
		sum++
	}
	if v, ok := s.Load(999); sum != 125 || !ok || v != 999 {
		t.Fatalf("All saw %d entries; Load(999) = %d, %v", sum, v, ok)
	}
	for k := range s.All() {
		s.Delete(k)
	}
	// 125 → rebuilt again at 15, which is below shrinkMin: small tables
	// are not rebuilt.
	if s.Len() != 0 || s.hw != 15 {
		t.Fatalf("emptied: %d entries, high-water mark %d; want 0, 15", s.Len(), s.hw)
	}
}
