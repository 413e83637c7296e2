package segmented

import (
	"bytes"

	"github.com/nokv/nokv/iface"
)

// iterator merges the segments' iterators, newest segment first. A key
// held by several segments (a replaced internal key) is shown once, with
// the newest segment's value, in both directions: ties go to the lower
// index, and every child at the current key moves past it together.
//
// Segments are few (four by default), so the merge scans them instead of
// keeping a heap. Changing direction re-seeks every child relative to the
// current key; the key stays valid while the memtable lives.
type iterator struct {
	its  []iface.Iterator
	keys [][]byte // keys[i] is its[i]'s key, nil when it is not valid
	cur  int      // the child at the current entry, -1 when not valid
	dir  int      // +1 after a forward move, -1 after a backward one
}

// load caches child i's key after a move.
func (it *iterator) load(i int) {
	if c := it.its[i]; c.Valid() {
		it.keys[i] = c.Key()
	} else {
		it.keys[i] = nil
	}
}

func (it *iterator) pickMin() bool {
	it.cur, it.dir = -1, +1
	for i, k := range it.keys {
		if k != nil && (it.cur < 0 || iface.Compare(k, it.keys[it.cur]) < 0) {
			it.cur = i
		}
	}
	return it.cur >= 0
}

func (it *iterator) pickMax() bool {
	it.cur, it.dir = -1, -1
	for i, k := range it.keys {
		if k != nil && (it.cur < 0 || iface.Compare(k, it.keys[it.cur]) > 0) {
			it.cur = i
		}
	}
	return it.cur >= 0
}

func (it *iterator) SeekGE(key []byte) bool {
	for i, c := range it.its {
		c.SeekGE(key)
		it.load(i)
	}
	return it.pickMin()
}

func (it *iterator) SeekLT(key []byte) bool {
	for i, c := range it.its {
		c.SeekLT(key)
		it.load(i)
	}
	return it.pickMax()
}

func (it *iterator) First() bool {
	for i, c := range it.its {
		c.First()
		it.load(i)
	}
	return it.pickMin()
}

func (it *iterator) Last() bool {
	for i, c := range it.its {
		c.Last()
		it.load(i)
	}
	return it.pickMax()
}

func (it *iterator) Next() bool {
	if it.cur < 0 {
		return false
	}
	k := it.keys[it.cur]
	for i, c := range it.its {
		if it.dir < 0 {
			c.SeekGE(k)
			it.load(i)
		}
		// The current child, and any other at the same internal key (a
		// replaced key), moves past it.
		if it.keys[i] != nil && bytes.Equal(it.keys[i], k) {
			c.Next()
			it.load(i)
		}
	}
	return it.pickMin()
}

func (it *iterator) Prev() bool {
	if it.cur < 0 {
		return false
	}
	k := it.keys[it.cur]
	for i, c := range it.its {
		if it.dir > 0 {
			c.SeekLT(k)
			it.load(i)
		} else if it.keys[i] != nil && bytes.Equal(it.keys[i], k) {
			c.Prev()
			it.load(i)
		}
	}
	return it.pickMax()
}

func (it *iterator) Valid() bool { return it.cur >= 0 }

func (it *iterator) Key() []byte {
	if it.cur < 0 {
		return nil
	}
	return it.keys[it.cur]
}

func (it *iterator) Value() []byte {
	if it.cur < 0 {
		return nil
	}
	return it.its[it.cur].Value()
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
	it.cur = -1
	return first
}
