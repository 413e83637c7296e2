package latch

import (
	"fmt"
	"sync"
	"testing"
)

// TestMutualExclusion runs commands over overlapping key sets from many
// goroutines; a non-atomic read-modify-write per key must never lose an
// update, and overlapping sets in different orders must not deadlock.
func TestMutualExclusion(t *testing.T) {
	tbl := New(8) // few slots: many collisions
	counters := make([]int, 16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				a, b := (g+i)%16, (g*7+i*3)%16
				keys := [][]byte{[]byte(fmt.Sprint(b)), []byte(fmt.Sprint(a)), []byte(fmt.Sprint(a))}
				guard := tbl.Acquire(keys)
				// Each counter is guarded by its key's latch.
				counters[a]++
				if b != a {
					counters[b]++
				}
				guard.Release()
			}
		}(g)
	}
	wg.Wait()
	total := 0
	for _, c := range counters {
		total += c
	}
	want := 0
	for g := 0; g < 8; g++ {
		for i := 0; i < 500; i++ {
			if (g+i)%16 == (g*7+i*3)%16 {
				want++
			} else {
				want += 2
			}
		}
	}
	if total != want {
		t.Fatalf("lost updates: %d, want %d", total, want)
	}
}

func TestSizeRounding(t *testing.T) {
	if n := len(New(0).slots); n != DefaultSlots {
		t.Fatal(n)
	}
	if n := len(New(100).slots); n != 128 {
		t.Fatal(n)
	}
	g := New(1).Acquire(nil)
	g.Release()
}
