package btree

import (
	"slices"

	"github.com/google/btree"

	"github.com/nokv/nokv/iface"
)

const (
	// minWindow is the window read after a seek, where most scans are short.
	minWindow = 4
	// maxWindow caps the window of a long scan.
	maxWindow = 64
)

// iterator walks a frozen clone of the tree. It keeps a window of adjacent
// items in ascending order; win[pos] is the current entry.
type iterator struct {
	tree  *btree.BTreeG[item]
	win   []item
	pos   int
	valid bool
	// scan is the window size of the current scan; it resets on every seek
	// and doubles on every refill.
	scan int

	// State of the collect callback, kept here so that the callback is bound
	// once instead of allocating a closure per tree descent.
	limit    int    // items to collect
	skip     []byte // a key to pass over when skipping
	skipping bool   // whether this read is exclusive of its pivot
	collect  btree.ItemIteratorG[item]
}

var _ iface.Iterator = (*iterator)(nil)

func newIterator(tree *btree.BTreeG[item]) *iterator {
	it := &iterator{tree: tree, scan: minWindow}
	it.collect = it.collectItem
	return it
}

// collectItem appends one item to the window; it stops the descent when the
// window is full.
func (it *iterator) collectItem(x item) bool {
	if it.skipping && iface.Compare(x.key, it.skip) == 0 {
		return true
	}
	it.win = append(it.win, x)
	return len(it.win) < it.limit
}

// read fills the window with up to n items, starting at pivot (at the first
// or last item when not bounded) and going forward or backward, passing over
// pivot itself when exclusive. The window ends up in ascending order.
func (it *iterator) read(pivot []byte, bounded, exclusive, forward bool, n int) {
	it.win, it.limit = it.win[:0], n
	it.skip, it.skipping = pivot, exclusive
	if it.tree == nil { // closed
		return
	}
	switch {
	case forward && !bounded:
		it.tree.Ascend(it.collect)
	case forward:
		it.tree.AscendGreaterOrEqual(item{key: pivot}, it.collect)
	case !bounded:
		it.tree.Descend(it.collect)
	default:
		it.tree.DescendLessOrEqual(item{key: pivot}, it.collect)
	}
	if !forward {
		slices.Reverse(it.win)
	}
}

// seek starts a new scan at the window read from pivot.
func (it *iterator) seek(pivot []byte, bounded, exclusive, forward bool) bool {
	it.scan = minWindow
	it.read(pivot, bounded, exclusive, forward, it.scan)
	it.valid = len(it.win) > 0
	if forward {
		it.pos = 0
	} else {
		it.pos = len(it.win) - 1
	}
	return it.valid
}

// step moves one entry forward or backward, reading a new window when the
// current one is used up. The new window starts with the current entry, so
// that stepping straight back needs no descent.
func (it *iterator) step(forward bool) bool {
	if !it.valid {
		return false
	}
	if forward && it.pos+1 < len(it.win) {
		it.pos++
		return true
	}
	if !forward && it.pos > 0 {
		it.pos--
		return true
	}
	it.scan = min(2*it.scan, maxWindow)
	it.read(it.win[it.pos].key, true, false, forward, it.scan+1)
	if len(it.win) < 2 { // only the current entry: the end of the tree
		it.valid = false
		return false
	}
	if forward {
		it.pos = 1
	} else {
		it.pos = len(it.win) - 2
	}
	return true
}

// SeekGE moves to the first entry whose key is >= key.
func (it *iterator) SeekGE(key []byte) bool { return it.seek(key, true, false, true) }

// SeekLT moves to the last entry whose key is < key.
func (it *iterator) SeekLT(key []byte) bool { return it.seek(key, true, true, false) }

// First moves to the first entry.
func (it *iterator) First() bool { return it.seek(nil, false, false, true) }

// Last moves to the last entry.
func (it *iterator) Last() bool { return it.seek(nil, false, false, false) }

// Next moves forward one entry; on an unpositioned iterator it returns false.
func (it *iterator) Next() bool { return it.step(true) }

// Prev moves back one entry; on an unpositioned iterator it returns false.
func (it *iterator) Prev() bool { return it.step(false) }

// Valid reports whether the iterator is at an entry.
func (it *iterator) Valid() bool { return it.valid }

// Key returns the current internal key.
func (it *iterator) Key() []byte {
	if !it.valid {
		return nil
	}
	return it.win[it.pos].key
}

// Value returns the current value.
func (it *iterator) Value() []byte {
	if !it.valid {
		return nil
	}
	return it.win[it.pos].value
}

// Err returns nil: an in-memory tree cannot fail.
func (it *iterator) Err() error { return nil }

// Close releases the snapshot, unpositions the iterator and returns nil.
func (it *iterator) Close() error {
	it.tree, it.win, it.valid = nil, nil, false
	return nil
}
