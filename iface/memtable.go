package iface

// Memtable is the in-memory sorted buffer of recent writes, keyed by internal
// key. Implementations: memtable/skiplist (default), memtable/btree.
//
// Concurrency: Add may be called by several goroutines at once, concurrently
// with Get and iterators; Get and NewIterator may be called at any time.
// Durability: none; the write-ahead log makes memtable contents durable.
// Ownership: Add copies key and value; slices returned by Get and by
// iterators stay valid for the life of the memtable and must not be modified.
type Memtable interface {
	// Add inserts value under the internal key ikey. Adding a key that is
	// already present replaces its value. It returns ErrFull when the
	// memtable cannot take the entry; the caller then rotates the memtable.
	Add(ikey, value []byte) error
	// Get finds the newest entry whose user key equals UserKey(ikey) and whose
	// version is at most Version(ikey). It returns the entry's internal key.
	Get(ikey []byte) (key, value []byte, ok bool)
	// NewIterator returns an iterator over a consistent view that includes at
	// least every entry added before the call.
	NewIterator() Iterator
	// ApproximateSize reports the bytes of memory the contents use.
	ApproximateSize() int64
	// Len reports the number of entries.
	Len() int
}

// MemtableOptions configures a new memtable.
type MemtableOptions struct {
	// Capacity is the size, in bytes, the memtable is expected to grow to.
	// Arena-based implementations reserve it up front and return ErrFull
	// past it; others use it as a hint.
	Capacity int64
}

// NewMemtable makes a memtable; the engine calls it at every rotation.
type NewMemtable func(MemtableOptions) Memtable
