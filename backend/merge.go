package backend

import (
	"sort"

	"github.com/nokv/nokv/iface"
)

// mergingIter merges child iterators into one stream in Compare order, in
// either direction, with a binary heap of the children that are valid.
// Children are ordered newest first. An internal key lives in one child; if
// two ever held it, ties are broken by age (the newer child first going
// forward, last going backward) so the order is deterministic.
type mergingIter struct {
	iters []iface.Iterator
	heap  []int // indices into iters; heap[0] is the current child
	dir   int   // +1 forward (min-heap), -1 reverse (max-heap)
	err   error
}

var _ iface.Iterator = (*mergingIter)(nil)

func newMergingIter(iters []iface.Iterator) *mergingIter {
	return &mergingIter{iters: iters, heap: make([]int, 0, len(iters))}
}

func (m *mergingIter) less(a, b int) bool {
	ia, ib := m.heap[a], m.heap[b]
	c := iface.Compare(m.iters[ia].Key(), m.iters[ib].Key())
	if c == 0 {
		if m.dir > 0 {
			return ia < ib
		}
		return ia > ib
	}
	if m.dir > 0 {
		return c < 0
	}
	return c > 0
}

func (m *mergingIter) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && m.less(r, l) {
			j = r
		}
		if !m.less(j, i) {
			return
		}
		m.heap[i], m.heap[j] = m.heap[j], m.heap[i]
		i = j
	}
}

// build makes the heap from every valid child, noting child errors.
func (m *mergingIter) build(dir int) bool {
	m.dir = dir
	m.heap = m.heap[:0]
	for i, it := range m.iters {
		if it.Valid() {
			m.heap = append(m.heap, i)
		} else if err := it.Err(); err != nil && m.err == nil {
			m.err = err
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

func (m *mergingIter) SeekGE(key []byte) bool {
	for _, it := range m.iters {
		it.SeekGE(key)
	}
	return m.build(1)
}

func (m *mergingIter) SeekLT(key []byte) bool {
	for _, it := range m.iters {
		it.SeekLT(key)
	}
	return m.build(-1)
}

func (m *mergingIter) First() bool {
	for _, it := range m.iters {
		it.First()
	}
	return m.build(1)
}

func (m *mergingIter) Last() bool {
	for _, it := range m.iters {
		it.Last()
	}
	return m.build(-1)
}

// advance moves the current child one step in the heap's direction and
// restores the heap.
func (m *mergingIter) advance() bool {
	cur := m.iters[m.heap[0]]
	var ok bool
	if m.dir > 0 {
		ok = cur.Next()
	} else {
		ok = cur.Prev()
	}
	if !ok {
		if err := cur.Err(); err != nil {
			m.err = err
			m.heap = m.heap[:0]
			return false
		}
		m.heap[0] = m.heap[len(m.heap)-1]
		m.heap = m.heap[:len(m.heap)-1]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return len(m.heap) > 0
}

func (m *mergingIter) Next() bool {
	if len(m.heap) == 0 {
		return false
	}
	if m.dir < 0 {
		// Turn around: every other child moves to its first key after the
		// current one.
		key := append([]byte(nil), m.Key()...)
		cur := m.heap[0]
		for i, it := range m.iters {
			if i == cur {
				continue
			}
			for ok := it.SeekGE(key); ok && iface.Compare(it.Key(), key) <= 0; ok = it.Next() {
			}
		}
		m.iters[cur].Next()
		return m.build(1)
	}
	return m.advance()
}

func (m *mergingIter) Prev() bool {
	if len(m.heap) == 0 {
		return false
	}
	if m.dir > 0 {
		key := append([]byte(nil), m.Key()...)
		cur := m.heap[0]
		for i, it := range m.iters {
			if i == cur {
				continue
			}
			it.SeekLT(key)
		}
		m.iters[cur].Prev()
		return m.build(-1)
	}
	return m.advance()
}

func (m *mergingIter) Valid() bool   { return len(m.heap) > 0 }
func (m *mergingIter) Key() []byte   { return m.iters[m.heap[0]].Key() }
func (m *mergingIter) Value() []byte { return m.iters[m.heap[0]].Value() }
func (m *mergingIter) Err() error    { return m.err }

func (m *mergingIter) Close() error {
	err := m.err
	for _, it := range m.iters {
		if e := it.Close(); e != nil && err == nil {
			err = e
		}
	}
	m.heap = m.heap[:0]
	return err
}

// levelIter walks the tables of one sorted level as one sequence, opening
// each table's iterator only when it reaches it.
type levelIter struct {
	tables []*tableHandle
	idx    int
	cur    iface.Iterator
	err    error
}

var _ iface.Iterator = (*levelIter)(nil)

func newLevelIter(tables []*tableHandle) *levelIter {
	return &levelIter{tables: tables, idx: -1}
}

func (l *levelIter) open(i int) {
	if l.cur != nil {
		if err := l.cur.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.cur = nil
	}
	l.idx = i
	if i >= 0 && i < len(l.tables) {
		l.cur = l.tables[i].t.NewIterator()
	}
}

// settle moves across table boundaries in direction dir until an entry or
// the end is found.
func (l *levelIter) settle(dir int) bool {
	for {
		if l.err != nil {
			return false
		}
		if l.cur == nil {
			return false
		}
		if l.cur.Valid() {
			return true
		}
		if err := l.cur.Err(); err != nil {
			l.err = err
			return false
		}
		if dir > 0 {
			if l.idx+1 >= len(l.tables) {
				l.open(len(l.tables))
				return false
			}
			l.open(l.idx + 1)
			l.cur.First()
		} else {
			if l.idx-1 < 0 {
				l.open(-1)
				return false
			}
			l.open(l.idx - 1)
			l.cur.Last()
		}
	}
}

func (l *levelIter) SeekGE(key []byte) bool {
	i := sort.Search(len(l.tables), func(i int) bool { return iface.Compare(l.tables[i].meta.Largest, key) >= 0 })
	l.open(i)
	if l.cur == nil {
		return false
	}
	l.cur.SeekGE(key)
	return l.settle(1)
}

func (l *levelIter) SeekLT(key []byte) bool {
	i := sort.Search(len(l.tables), func(i int) bool { return iface.Compare(l.tables[i].meta.Smallest, key) >= 0 }) - 1
	l.open(i)
	if l.cur == nil {
		return false
	}
	l.cur.SeekLT(key)
	return l.settle(-1)
}

func (l *levelIter) First() bool {
	l.open(0)
	if l.cur == nil {
		return false
	}
	l.cur.First()
	return l.settle(1)
}

func (l *levelIter) Last() bool {
	l.open(len(l.tables) - 1)
	if l.cur == nil {
		return false
	}
	l.cur.Last()
	return l.settle(-1)
}

func (l *levelIter) Next() bool {
	if l.cur == nil || !l.cur.Valid() {
		return false
	}
	l.cur.Next()
	return l.settle(1)
}

func (l *levelIter) Prev() bool {
	if l.cur == nil || !l.cur.Valid() {
		return false
	}
	l.cur.Prev()
	return l.settle(-1)
}

func (l *levelIter) Valid() bool   { return l.err == nil && l.cur != nil && l.cur.Valid() }
func (l *levelIter) Key() []byte   { return l.cur.Key() }
func (l *levelIter) Value() []byte { return l.cur.Value() }
func (l *levelIter) Err() error    { return l.err }

func (l *levelIter) Close() error {
	l.open(-1)
	return l.err
}
