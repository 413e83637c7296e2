// Package latch serializes commands that touch the same keys.
//
// A Table hashes every key to one of a fixed number of slots, each a mutex.
// A command acquires the slots of all its keys, in ascending slot order (so
// two commands can never wait for each other in a cycle), runs, and
// releases them. Two keys that share a slot only cost concurrency, never
// correctness. Percolator holds a command's latches from before it reads
// the engine until its writes are applied, so commands on the same key
// behave as if run one at a time.
package latch

import (
	"hash/maphash"
	"slices"
	"sync"
)

// DefaultSlots is the slot count New uses for a non-positive size.
const DefaultSlots = 4096

// Table is a latch table. It is safe for concurrent use.
type Table struct {
	seed  maphash.Seed
	mask  uint64
	slots []sync.Mutex
}

// New returns a table with at least size slots (rounded up to a power of
// two); size <= 0 means DefaultSlots.
func New(size int) *Table {
	if size <= 0 {
		size = DefaultSlots
	}
	n := 1
	for n < size {
		n <<= 1
	}
	return &Table{seed: maphash.MakeSeed(), mask: uint64(n - 1), slots: make([]sync.Mutex, n)}
}

// Guard is a set of acquired slots.
type Guard struct {
	t     *Table
	slots []int
}

// Acquire blocks until it holds the slots of every key, and returns them.
// Keys may repeat. Release the guard when the command's writes are applied.
func (t *Table) Acquire(keys [][]byte) *Guard {
	slots := make([]int, 0, len(keys))
	for _, k := range keys {
		slots = append(slots, int(maphash.Bytes(t.seed, k)&t.mask))
	}
	slices.Sort(slots)
	slots = slices.Compact(slots)
	for _, s := range slots {
		t.slots[s].Lock()
	}
	return &Guard{t: t, slots: slots}
}

// Release frees the slots, in reverse order. It must be called once.
func (g *Guard) Release() {
	for i := len(g.slots) - 1; i >= 0; i-- {
		g.t.slots[g.slots[i]].Unlock()
	}
	g.slots = nil
}
