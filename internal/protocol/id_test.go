package protocol

import (
	"strings"
	"sync"
	"testing"
)

func TestIDAlphabet(t *testing.T) {
	if len(IDAlphabet) != 64 || strings.Contains(IDAlphabet, ":") {
		t.Fatalf("IDAlphabet %q: length %d", IDAlphabet, len(IDAlphabet))
	}
	seen := map[rune]bool{}
	for _, c := range IDAlphabet {
		if seen[c] {
			t.Fatalf("duplicate %q in IDAlphabet", c)
		}
		seen[c] = true
	}
}

func TestNewID(t *testing.T) {
	const n = 20000 // several refills of the random batch
	ids := make(map[string]bool, n)
	counts := map[rune]int{}
	for range n {
		id := NewID()
		if len(id) != IDLength {
			t.Fatalf("NewID() = %q: length %d", id, len(id))
		}
		for _, c := range id {
			if !strings.ContainsRune(IDAlphabet, c) {
				t.Fatalf("NewID() = %q: %q is not in the alphabet", id, c)
			}
			counts[c]++
		}
		if ids[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		ids[id] = true
	}
	// 160000 characters: every symbol is expected 2500 times; missing one
	// would be astronomically unlikely for a uniform source.
	if len(counts) != 64 {
		t.Errorf("only %d of 64 symbols used", len(counts))
	}
}

func TestNewIDConcurrent(t *testing.T) {
	const workers, each = 4, 2000
	results := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				results[w] = append(results[w], NewID())
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, r := range results {
		for _, id := range r {
			if seen[id] {
				t.Fatalf("duplicate id %q across goroutines", id)
			}
			seen[id] = true
		}
	}
}
