package vlog

import (
	"fmt"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// Defaults used by EnsureDefaults.
const (
	// DefaultThreshold is the value size from which values are separated.
	DefaultThreshold = 1 << 10
	// DefaultSegmentSize is the size at which the active segment is sealed
	// and the next one started.
	DefaultSegmentSize = 256 << 20
	// DefaultCacheSize is the default bound of the read cache.
	DefaultCacheSize = 32 << 20
	// DefaultDiscardPersistEvery persists the discard statistics after every
	// AddDiscard call that changed them.
	DefaultDiscardPersistEvery = 1
)

// minSegmentSize is the smallest SegmentSize accepted (small sizes are for
// tests that want many segments).
const minSegmentSize = 256

// Options configures a Store.
type Options struct {
	// FS is the file system; nil means vfs.Default.
	FS vfs.FS
	// Dir is the directory holding the segments and the DISCARD file. It is
	// created if it is missing.
	Dir string
	// Threshold: values of at least this many bytes are written to the log;
	// smaller values stay inline. 0 means DefaultThreshold.
	Threshold int
	// SegmentSize is the size at which the active segment is sealed; a batch
	// that does not fit goes to the next segment (one record larger than a
	// segment gets a segment of its own). 0 means DefaultSegmentSize; at most
	// MaxSegmentSize.
	SegmentSize int64
	// DiscardPersistEvery: the DISCARD file is rewritten after this many
	// AddDiscard calls that changed the statistics (and always by Close and
	// PersistDiscard). A crash loses at most the updates since the last
	// rewrite, which only delays the collection of those bytes. 0 means
	// DefaultDiscardPersistEvery; a negative value persists only on Close and
	// PersistDiscard.
	DiscardPersistEvery int
	// CacheSize bounds the bytes of values kept by the read cache, which
	// serves repeated reads of a pointer without touching the file. 0 means
	// DefaultCacheSize; negative disables the cache.
	CacheSize int64
	// Recorded is the engine's manifest record of the log (head and live
	// segments), checked against the directory at open: a live segment
	// whose file is missing fails Open, and a segment file below the head
	// that is not live (GC dropped it but a crash kept the file from being
	// deleted) is removed. Nil, or an empty live set (a store written before
	// the live set was recorded), skips the check.
	Recorded *iface.ValueLogRecord
}

// EnsureDefaults fills zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.Threshold == 0 {
		o.Threshold = DefaultThreshold
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.DiscardPersistEvery == 0 {
		o.DiscardPersistEvery = DefaultDiscardPersistEvery
	}
}

// Validate reports the first option that is out of range. Call it after
// EnsureDefaults.
func (o *Options) Validate() error {
	switch {
	case o.Dir == "":
		return fmt.Errorf("vlog: %w: empty directory name", iface.ErrInvalidArgument)
	case o.Threshold < 0:
		return fmt.Errorf("vlog: %w: negative threshold %d", iface.ErrInvalidArgument, o.Threshold)
	case o.SegmentSize < minSegmentSize || o.SegmentSize > MaxSegmentSize:
		return fmt.Errorf("vlog: %w: segment size %d is outside [%d, %d]",
			iface.ErrInvalidArgument, o.SegmentSize, minSegmentSize, int64(MaxSegmentSize))
	}
	return nil
}
