package segmented

import "github.com/nokv/nokv/iface"

// iterator merges the segments' iterators, newest segment first. A key
// held by several segments (a replaced internal key) is shown once, with
// the newest segment's value, in both directions: ties go to the lower
// index, and every child at the current key moves past it together.
//
// Segments are few (four by default), so the merge scans them instead of
// keeping a heap. Changing direction re-seeks every child relative to the
// current key; the key stays valid while the memtable lives.
type iterator struct {
	its []iface.Iterator
	cur int // the child at the current entry, -1 when not valid
	dir int // +1 after a forward move, -1 after a backward one
}

func (it *iterator) pickMin() bool {
	it.cur, it.dir = -1, +1
	for i, c := range it.its {
		if c.Valid() && (it.cur < 0 || iface.Compare(c.Key(), it.its[it.cur].Key()) < 0) {
			it.cur = i
		}
	}
	return it.cur >= 0
}

func (it *iterator) pickMax() bool {
	it.cur, it.dir = -1, -1
	for i, c := range it.its {
		if c.Valid() && (it.cur < 0 || iface.Compare(c.Key(), it.its[it.cur].Key()) > 0) {
			it.cur = i
		}
	}
	return it.cur >= 0
}

func (it *iterator) SeekGE(key []byte) bool {
	for _, c := range it.its {
		c.SeekGE(key)
	}
	return it.pickMin()
}

func (it *iterator) SeekLT(key []byte) bool {
	for _, c := range it.its {
		c.SeekLT(key)
	}
	return it.pickMax()
}

func (it *iterator) First() bool {
	for _, c := range it.its {
		c.First()
	}
	return it.pickMin()
}

func (it *iterator) Last() bool {
	for _, c := range it.its {
		c.Last()
	}
	return it.pickMax()
}

func (it *iterator) Next() bool {
	if it.cur < 0 {
		return false
	}
	k := it.its[it.cur].Key()
	for _, c := range it.its {
		if it.dir < 0 {
			c.SeekGE(k)
		}
		if c.Valid() && iface.Compare(c.Key(), k) == 0 {
			c.Next()
		}
	}
	return it.pickMin()
}

func (it *iterator) Prev() bool {
	if it.cur < 0 {
		return false
	}
	k := it.its[it.cur].Key()
	for _, c := range it.its {
		if it.dir > 0 {
			c.SeekLT(k)
		} else if c.Valid() && iface.Compare(c.Key(), k) == 0 {
			c.Prev()
		}
	}
	return it.pickMax()
}

func (it *iterator) Valid() bool { return it.cur >= 0 }

func (it *iterator) Key() []byte {
	if it.cur < 0 {
		return nil
	}
	return it.its[it.cur].Key()
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
