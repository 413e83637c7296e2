// Package merge merges sorted iterators into one, in either direction: the
// engine's read path and compactions merge memtables and tables with it,
// and a segmented memtable merges its segments.
//
// Children are given newest first. The merge keeps a binary heap of the
// valid children ordered by their current keys (iface.Compare), with each
// child's key cached after every move of that child.
//
// An internal key normally lives in one child. If two hold it, ties go to
// the newer child going forward; going backward, to the newer one as well
// when Dedup is set, else to the older one, so that a backward walk is the
// exact reverse of a forward one. With Dedup, such a key is shown once,
// with the newest child's value: every child left at the key just shown
// moves past it before the next key is chosen. Changing direction always
// moves every child past the current key.
package merge

import (
	"bytes"

	"github.com/nokv/nokv/iface"
)

// Iter is the merge of its children. It is an iface.Iterator; not safe for
// concurrent use.
type Iter struct {
	its   []iface.Iterator
	keys  [][]byte // keys[i] is its[i]'s key, nil when it is not valid
	heap  []int    // indices of the valid children; heap[0] is the current one
	dir   int      // +1 forward (a min-heap), -1 backward (a max-heap)
	dedup bool
	err   error
	buf   []byte // a copy of the current key while children move
}

var _ iface.Iterator = (*Iter)(nil)

// New merges its, given newest first. With dedup, an internal key held by
// several children is shown once (see the package comment).
func New(its []iface.Iterator, dedup bool) *Iter {
	return &Iter{its: its, keys: make([][]byte, len(its)), heap: make([]int, 0, len(its)), dedup: dedup}
}

// load caches child i's key after a move, noting a child's error.
func (m *Iter) load(i int) {
	c := m.its[i]
	if c.Valid() {
		m.keys[i] = c.Key()
		return
	}
	m.keys[i] = nil
	if err := c.Err(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *Iter) less(a, b int) bool {
	c := iface.Compare(m.keys[a], m.keys[b])
	if c == 0 {
		if m.dir > 0 || m.dedup {
			return a < b
		}
		return a > b
	}
	return c*m.dir < 0
}

func (m *Iter) down(i int) {
	h := m.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && m.less(h[r], h[l]) {
			j = r
		}
		if !m.less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// build loads every child's key and heaps the valid ones for direction
// dir. A child's error ends the iteration.
func (m *Iter) build(dir int) bool {
	m.dir = dir
	m.heap = m.heap[:0]
	for i := range m.its {
		m.load(i)
		if m.keys[i] != nil {
			m.heap = append(m.heap, i)
		}
	}
	if m.err != nil {
		m.heap = m.heap[:0]
		return false
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return len(m.heap) > 0
}

// step moves the current child one entry in the heap's direction and
// restores the heap.
func (m *Iter) step() {
	top := m.heap[0]
	if m.dir > 0 {
		m.its[top].Next()
	} else {
		m.its[top].Prev()
	}
	m.load(top)
	if m.err != nil {
		m.heap = m.heap[:0]
		return
	}
	if m.keys[top] == nil {
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
}

// skip moves every child at key k (a copy) past it.
func (m *Iter) skip(k []byte) bool {
	for len(m.heap) > 0 && bytes.Equal(m.keys[m.heap[0]], k) {
		m.step()
	}
	return len(m.heap) > 0
}

// current copies the current key, which the children's moves may
// overwrite.
func (m *Iter) current() []byte {
	m.buf = append(m.buf[:0], m.keys[m.heap[0]]...)
	return m.buf
}

func (m *Iter) SeekGE(key []byte) bool {
	for _, c := range m.its {
		c.SeekGE(key)
	}
	return m.build(+1)
}

func (m *Iter) SeekLT(key []byte) bool {
	for _, c := range m.its {
		c.SeekLT(key)
	}
	return m.build(-1)
}

func (m *Iter) First() bool {
	for _, c := range m.its {
		c.First()
	}
	return m.build(+1)
}

func (m *Iter) Last() bool {
	for _, c := range m.its {
		c.Last()
	}
	return m.build(-1)
}

func (m *Iter) Next() bool {
	if len(m.heap) == 0 {
		return false
	}
	if m.dir < 0 {
		// Turn around: every child moves to its first key after this one.
		k := m.current()
		for _, c := range m.its {
			c.SeekGE(k)
		}
		if !m.build(+1) {
			return false
		}
		return m.skip(k)
	}
	if !m.dedup {
		m.step()
		return len(m.heap) > 0
	}
	return m.skip(m.current())
}

func (m *Iter) Prev() bool {
	if len(m.heap) == 0 {
		return false
	}
	if m.dir > 0 {
		// Turn around: every child moves to its last key before this one.
		k := m.current()
		for _, c := range m.its {
			c.SeekLT(k)
		}
		return m.build(-1)
	}
	if !m.dedup {
		m.step()
		return len(m.heap) > 0
	}
	return m.skip(m.current())
}

func (m *Iter) Valid() bool { return len(m.heap) > 0 }

func (m *Iter) Key() []byte {
	if len(m.heap) == 0 {
		return nil
	}
	return m.keys[m.heap[0]]
}

func (m *Iter) Value() []byte {
	if len(m.heap) == 0 {
		return nil
	}
	return m.its[m.heap[0]].Value()
}

func (m *Iter) Err() error { return m.err }

// Close closes every child and returns the first error met.
func (m *Iter) Close() error {
	err := m.err
	for _, c := range m.its {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	m.heap = m.heap[:0]
	return err
}
