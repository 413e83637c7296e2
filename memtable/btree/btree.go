// Package btree is NoKV's alternate memtable: an in-memory B-tree
// (github.com/google/btree) of internal keys in iface.Compare order, guarded
// by a sync.RWMutex.
//
// Writers take the write lock, readers (Get) the read lock. Each Add copies
// its key and value into one fresh allocation; a replaced value is never
// overwritten in place, so slices handed out earlier stay intact.
//
// An iterator works on a copy-on-write Clone of the tree taken when it is
// created. Cloning is O(1): the two trees share nodes until one side writes,
// and then only the written path is copied. The iterator therefore sees a
// frozen snapshot, and a concurrent Add never disturbs it. The B-tree has no
// cursor, so the iterator reads a small window of neighbouring items per tree
// descent and serves Next and Prev from it; the window doubles (up to 64
// items) while a scan keeps going the same way.
//
// Capacity is only a hint: Add never returns iface.ErrFull. The engine
// rotates the memtable by ApproximateSize, which counts key and value bytes
// plus an estimated per-item overhead.
package btree

import (
	"sync"
	"sync/atomic"

	"github.com/google/btree"

	"github.com/nokv/nokv/iface"
)

const (
	// degree is the B-tree's minimum degree: nodes hold degree-1 to
	// 2*degree-1 items.
	degree = 16
	// itemOverhead is the memory ApproximateSize charges per entry beyond
	// its key and value bytes: the 48-byte item in its node, its share of node
	// headers and child pointers, and allocator rounding of the copy.
	itemOverhead = 64
)

// item is one entry. key and value are sub-slices of one allocation made by
// Add, capacity-clipped so they cannot be appended into each other.
type item struct {
	key, value []byte
}

func less(a, b item) bool { return iface.Compare(a.key, b.key) < 0 }

// BTree is a memtable backed by a B-tree under a reader-writer lock. All
// methods are safe for concurrent use.
type BTree struct {
	mu   sync.RWMutex
	tree *btree.BTreeG[item]
	// size is kept outside the lock so ApproximateSize never waits.
	size atomic.Int64
}

var _ iface.Memtable = (*BTree)(nil)

// New returns an empty BTree. opts.Capacity is ignored: the tree grows on
// demand. It matches iface.NewMemtable.
func New(opts iface.MemtableOptions) iface.Memtable {
	return &BTree{tree: btree.NewG(degree, less)}
}

// Add inserts value under ikey, replacing the value if ikey is present. It
// never fails.
func (t *BTree) Add(ikey, value []byte) error {
	buf := make([]byte, len(ikey)+len(value))
	n := copy(buf, ikey)
	copy(buf[n:], value)
	it := item{key: buf[:n:n], value: buf[n:]}

	t.mu.Lock()
	old, replaced := t.tree.ReplaceOrInsert(it)
	t.mu.Unlock()

	if replaced {
		t.size.Add(int64(len(value) - len(old.value)))
	} else {
		t.size.Add(int64(len(ikey) + len(value) + itemOverhead))
	}
	return nil
}

// Get returns the first entry at or after ikey in iface.Compare order if it
// has ikey's user key: the newest version of that user key not newer than
// Version(ikey). The returned slices stay valid for the life of the BTree and
// must not be modified.
func (t *BTree) Get(ikey []byte) (key, value []byte, ok bool) {
	var found item
	t.mu.RLock()
	t.tree.AscendGreaterOrEqual(item{key: ikey}, func(it item) bool {
		found, ok = it, true
		return false
	})
	t.mu.RUnlock()
	if !ok || !iface.SameUserKey(found.key, ikey) {
		return nil, nil, false
	}
	return found.key, found.value, true
}

// NewIterator returns an iterator over a snapshot of the tree taken now.
func (t *BTree) NewIterator() iface.Iterator {
	// Clone writes the tree's copy-on-write context, so it needs the write lock.
	t.mu.Lock()
	snap := t.tree.Clone()
	t.mu.Unlock()
	return newIterator(snap)
}

// ApproximateSize reports the key and value bytes held plus an estimated 64
// bytes of tree overhead per entry.
func (t *BTree) ApproximateSize() int64 { return t.size.Load() }

// Len reports the number of entries.
func (t *BTree) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tree.Len()
}
