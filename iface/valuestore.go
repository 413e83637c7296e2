package iface

import "github.com/nokv/nokv/vfs"

// Entry is one write of a batch as the commit pipeline hands it to a
// ValueStore: a user key, the kind of write, and the value.
type Entry struct {
	Key       []byte // user key
	Version   uint64 // the version the batch commits at (set before Write)
	Kind      Kind   // KindSet or KindDelete on input; KindPointer if the store kept the value
	Value     []byte // the value, or an encoded ValuePtr after Write
	ExpiresAt uint64 // unix seconds; 0 = never
}

// ValueStore decides where values live: inline in the LSM tree, or separated
// into a value log (WiscKey). Implementations: vlog.Store (later), the inline
// store in package valuestore/inline.
//
// Concurrency: Write and Sync are called by one commit leader at a time; Read
// may be called concurrently with everything. Durability: a value written by
// Write is durable after Sync returns; the engine syncs the value store before
// it syncs the write-ahead log record that points at it. Ownership: Write may
// replace Entry.Value with a slice it owns; Read appends into dst and returns it.
type ValueStore interface {
	// Name identifies the on-disk format; it is recorded in the manifest.
	Name() string
	// Write is called with a batch's entries in order before they are logged.
	// For each value it keeps, it stores the value, sets Kind to KindPointer
	// and Value to the encoded ValuePtr. Entries it leaves alone stay inline.
	Write(entries []Entry) error
	// Sync makes every value written so far durable.
	Sync() error
	// Read appends to dst the value ptr locates and returns the result.
	Read(ptr ValuePtr, dst []byte) ([]byte, error)
	// AddDiscard records bytes of values, per segment, that no reader can
	// reach any more (reported by flush and compaction). It drives GC.
	AddDiscard(bytesPerSegment map[uint32]int64)
	// Close releases the store.
	Close() error
}

// ValueStoreOptions configures a ValueStore.
type ValueStoreOptions struct {
	FS        vfs.FS
	Dir       string // directory for the store's files
	Threshold int    // values of at least this many bytes are separated
	// CacheSize bounds the bytes of recently read values a store may keep
	// in memory: 0 means the store's default, negative means none. Stores
	// that keep no values apart (inline) ignore it.
	CacheSize int64
	// Recorded is what the engine's manifest says about the store's files,
	// for the store to check its directory against at open; nil when
	// nothing is recorded. Stores without segment files ignore it.
	Recorded *ValueLogRecord
}

// ValueLogRecord is what the manifest records about a value log: the head
// as of the last flush and the live segment set. Every segment at or below
// Head.Segment was recorded live when a flush reached it, and leaves the set
// only when GC drops it (before its file is deleted); segments above it may
// be unrecorded (created since the last flush).
type ValueLogRecord struct {
	Head ValuePtr
	Live []uint32 // ascending
}

// NewValueStore opens (creating if needed) a value store.
type NewValueStore func(ValueStoreOptions) (ValueStore, error)

// ValueLogGC is the extra power of a value store that separates values into
// segments and can collect them (vlog.Store has it; the inline store does
// not). The engine discovers it by type assertion and drives GC: it picks a
// segment, looks up every record's key in the tree, rewrites the live ones
// through its write path and then removes the segment.
type ValueLogGC interface {
	// Head returns the position the next value will be written at (Len 0).
	Head() ValuePtr
	// Pin keeps every segment that exists now readable until release is
	// called, even if RemoveSegment removes it meanwhile. Readers that may
	// follow old pointers (iterators, snapshots) hold a pin.
	Pin() (release func())
	// PickForGC returns the sealed segment numbered below below with the
	// most garbage, if its garbage ratio is at least minRatio.
	PickForGC(minRatio float64, below uint32) (seg uint32, ok bool)
	// IterateSegment calls fn for every record of seg, in order. The slices
	// are valid only during the call.
	IterateSegment(seg uint32, fn func(key []byte, version, expiresAt uint64, ptr ValuePtr, value []byte) error) error
	// RemoveSegment removes seg once no pin taken before the call is held.
	RemoveSegment(seg uint32) error
	// Contains reports whether ptr lies within the store's durable records
	// (a bounds check, no I/O). Log replay stops at a pointer that fails it:
	// that write was never synced and its value was lost in a crash.
	Contains(ptr ValuePtr) bool
}
