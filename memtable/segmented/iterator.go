package segmented

import (
	"bytes"

	"github.com/nokv/nokv/iface"
)

// iterator merges the segments' iterators, newest segment first, with a
// binary heap of the valid children ordered by their current keys. A key
// held by several segments (a replaced internal key) is shown once, with
// the newest segment's value, in both directions: ties go to the lower
// index (the newer segment), and the children left at the key just shown
// move past it before the next one is chosen. Changing direction re-seeks
// every child relative to the current key; the key stays valid while the
// memtable lives.
type iterator struct {
	its  []iface.Iterator
	keys [][]byte // keys[i] is its[i]'s key, nil when it is not valid
	heap []int    // indices of the valid children; heap[0] is the current one
	dir  int      // +1 forward (a min-heap), -1 backward (a max-heap)
}

func newIterator(its []iface.Iterator) *iterator {
	return &iterator{its: its, keys: make([][]byte, len(its)), heap: make([]int, 0, len(its))}
}

// load caches child i's key after a move.
func (it *iterator) load(i int) {
	if c := it.its[i]; c.Valid() {
		it.keys[i] = c.Key()
	} else {
		it.keys[i] = nil
	}
}

func (it *iterator) less(a, b int) bool {
	c := iface.Compare(it.keys[a], it.keys[b])
	if c == 0 {
		return a < b
	}
	return c*it.dir < 0
}

func (it *iterator) down(i int) {
	h := it.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && it.less(h[r], h[l]) {
			j = r
		}
		if !it.less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// build loads every child's key and heaps the valid ones for direction dir.
func (it *iterator) build(dir int) bool {
	it.dir = dir
	it.heap = it.heap[:0]
	for i := range it.its {
		it.load(i)
		if it.keys[i] != nil {
			it.heap = append(it.heap, i)
		}
	}
	for i := len(it.heap)/2 - 1; i >= 0; i-- {
		it.down(i)
	}
	return len(it.heap) > 0
}

// step moves the current child one entry in the heap's direction and
// restores the heap.
func (it *iterator) step() {
	top := it.heap[0]
	if it.dir > 0 {
		it.its[top].Next()
	} else {
		it.its[top].Prev()
	}
	it.load(top)
	if it.keys[top] == nil {
		last := len(it.heap) - 1
		it.heap[0] = it.heap[last]
		it.heap = it.heap[:last]
	}
	if len(it.heap) > 0 {
		it.down(0)
	}
}

// advance moves past key k: the current child and any other at k.
func (it *iterator) advance(k []byte) bool {
	for len(it.heap) > 0 && bytes.Equal(it.keys[it.heap[0]], k) {
		it.step()
	}
	return len(it.heap) > 0
}

func (it *iterator) SeekGE(key []byte) bool {
	for _, c := range it.its {
		c.SeekGE(key)
	}
	return it.build(+1)
}

func (it *iterator) SeekLT(key []byte) bool {
	for _, c := range it.its {
		c.SeekLT(key)
	}
	return it.build(-1)
}

func (it *iterator) First() bool {
	for _, c := range it.its {
		c.First()
	}
	return it.build(+1)
}

func (it *iterator) Last() bool {
	for _, c := range it.its {
		c.Last()
	}
	return it.build(-1)
}

func (it *iterator) Next() bool {
	if len(it.heap) == 0 {
		return false
	}
	k := it.keys[it.heap[0]]
	if it.dir < 0 {
		for _, c := range it.its {
			c.SeekGE(k)
		}
		it.build(+1)
	}
	return it.advance(k)
}

func (it *iterator) Prev() bool {
	if len(it.heap) == 0 {
		return false
	}
	k := it.keys[it.heap[0]]
	if it.dir > 0 {
		for _, c := range it.its {
			c.SeekLT(k) // strictly before k: duplicates of k are passed too
		}
		return it.build(-1)
	}
	return it.advance(k)
}

func (it *iterator) Valid() bool { return len(it.heap) > 0 }

func (it *iterator) Key() []byte {
	if len(it.heap) == 0 {
		return nil
	}
	return it.keys[it.heap[0]]
}

func (it *iterator) Value() []byte {
	if len(it.heap) == 0 {
		return nil
	}
	return it.its[it.heap[0]].Value()
}

func (it *iterator) Err() error {
	for _, c := range it.its {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (it *iterator) Close() error {
	var first error
	for _, c := range it.its {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	it.heap = it.heap[:0]
	return first
}
