package skiplist

import "github.com/nokv/nokv/iface"

// iterator walks a Skiplist in iface.Compare order. Next follows level-0
// links; Prev and SeekLT search from the head, O(log n) each.
type iterator struct {
	list *Skiplist
	// off is the current node, 0 when the iterator is not positioned.
	off   uint32
	key   []byte
	value []byte
}

var _ iface.Iterator = (*iterator)(nil)

// set positions the iterator at off and loads the entry, so Value stays the
// same until the next move even if a concurrent Add replaces it.
func (it *iterator) set(off uint32) bool {
	it.off = off
	if off == 0 {
		it.key, it.value = nil, nil
		return false
	}
	it.key, it.value = it.list.key(off), it.list.value(off)
	return true
}

// SeekGE moves to the first entry whose key is >= key.
func (it *iterator) SeekGE(key []byte) bool { return it.set(it.list.findGE(key)) }

// SeekLT moves to the last entry whose key is < key.
func (it *iterator) SeekLT(key []byte) bool { return it.set(it.list.findLT(key)) }

// First moves to the first entry.
func (it *iterator) First() bool { return it.set(it.list.arena.node(0).next(0)) }

// Last moves to the last entry.
func (it *iterator) Last() bool { return it.set(it.list.findLast()) }

// Next moves to the following entry; on an unpositioned iterator it returns
// false.
func (it *iterator) Next() bool {
	if it.off == 0 {
		return false
	}
	return it.set(it.list.arena.node(it.off).next(0))
}

// Prev moves to the preceding entry; on an unpositioned iterator it returns
// false.
func (it *iterator) Prev() bool {
	if it.off == 0 {
		return false
	}
	return it.set(it.list.findLT(it.key))
}

// Valid reports whether the iterator is at an entry.
func (it *iterator) Valid() bool { return it.off != 0 }

// Key returns the current internal key; it aliases the arena.
func (it *iterator) Key() []byte { return it.key }

// Value returns the current value as loaded when the iterator moved; it
// aliases the arena.
func (it *iterator) Value() []byte { return it.value }

// Err returns nil: an in-memory skiplist cannot fail.
func (it *iterator) Err() error { return nil }

// Close unpositions the iterator and returns nil.
func (it *iterator) Close() error {
	it.set(0)
	return nil
}
