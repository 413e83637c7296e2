package backend

import (
	"sort"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/merge"
)

// newMergingIter merges child iterators, given newest first, into one
// stream in Compare order, in either direction (internal/merge). An
// internal key lives in one child; if two ever held it, both are shown,
// the newer child's first going forward and last going backward.
func newMergingIter(iters []iface.Iterator) *merge.Iter { return merge.New(iters, false) }

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
