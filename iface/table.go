package iface

import "github.com/nokv/nokv/vfs"

// TableProps describes a finished table. It is recorded in the manifest and
// used by compaction policies and size estimates.
type TableProps struct {
	Smallest, Largest []byte // first and last internal keys
	Entries           uint64 // number of entries
	Deletions         uint64 // entries that are tombstones
	MinVersion        uint64 // smallest version of any entry
	MaxVersion        uint64 // largest version of any entry
	RawKeySize        uint64 // sum of key lengths
	RawValueSize      uint64 // sum of stored value lengths
	FileSize          uint64 // bytes on disk
}

// TableBuilder writes one sorted table. Not safe for concurrent use.
// Durability: nothing is durable until Finish returns nil (Finish syncs the
// file); the caller still has to sync the directory. Add copies its inputs.
type TableBuilder interface {
	// Add appends an entry; keys must be strictly increasing in Compare order.
	Add(ikey, value []byte) error
	// EstimatedSize reports the bytes the table would have if finished now.
	EstimatedSize() int64
	// Finish writes the index, filter, properties and footer, syncs the file
	// and returns the table's properties. The file is not closed.
	Finish() (TableProps, error)
	// Abort gives up the table; the caller removes the file.
	Abort()
}

// Table reads one table. All methods may be called concurrently.
// Returned keys and values are owned by the caller's iterator or, for Get,
// are copies the caller may keep.
type Table interface {
	// Get finds the newest entry whose user key equals UserKey(ikey) and whose
	// version is at most Version(ikey). A bloom filter is consulted first.
	Get(ikey []byte) (key, value []byte, ok bool, err error)
	// NewIterator iterates over every entry of the table.
	NewIterator() Iterator
	// Props returns the table's properties.
	Props() TableProps
	// ApproximateOffset returns the file offset where ikey would be: the
	// bytes of the table before it. Used to estimate the size of key ranges.
	ApproximateOffset(ikey []byte) uint64
	// Close releases the table and its file.
	Close() error
}

// Verifier is implemented by tables (and other stores) that can check every
// checksum and structural invariant they hold. It returns a *CorruptionError
// naming the offset of the first damage.
type Verifier interface {
	Verify() error
}

// TableFormat makes builders and readers of one on-disk table format. Its
// Name is recorded in the manifest; a store written with another format is
// refused at open.
type TableFormat interface {
	// Name identifies the on-disk format, e.g. "sstable/v1".
	Name() string
	// NewBuilder returns a builder that writes to f (freshly created).
	NewBuilder(f vfs.File) TableBuilder
	// Open reads the table in f, which is size bytes long. fileNum identifies
	// the table in shared caches; name is used in error messages. The table
	// owns f from then on and closes it on Close (or on error).
	Open(f vfs.File, name string, fileNum uint64, size int64) (Table, error)
}
