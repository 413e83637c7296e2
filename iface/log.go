package iface

import "github.com/nokv/nokv/vfs"

// LogPosition is the place of a record in a segmented log.
type LogPosition struct {
	Segment uint64 // segment number
	Offset  int64  // byte offset of the record's header in the segment
}

// Less orders positions.
func (p LogPosition) Less(q LogPosition) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

// Log is an append-only, segmented record log: the write-ahead log of the
// engine, and later the raft log. Implementation: wal.
//
// Concurrency: one writer; Append, Sync, Rotate and Release must not be called
// concurrently with each other. Replay is called before the first Append.
// Durability: a record is durable once a Sync that started after its Append
// returns nil. Ownership: Append does not keep rec; Replay's record slice is
// valid only during the callback.
type Log interface {
	// Append writes one record to the active segment, starting a new segment
	// first when the active one is full, and returns where the record went.
	Append(rec []byte) (LogPosition, error)
	// Sync makes every appended record durable.
	Sync() error
	// Rotate seals the active segment and starts a new one; it returns the
	// new segment's number. Records appended after it go to that segment.
	Rotate() (segment uint64, err error)
	// Replay calls fn, in order, for every record at or after from. A torn
	// tail (a partial last record of the last segment) is truncated and not
	// reported; damage anywhere else is a *CorruptionError.
	Replay(from LogPosition, fn func(pos LogPosition, rec []byte) error) error
	// Release deletes every segment numbered below segment; the caller has
	// made their records durable elsewhere. The newest segment is always
	// kept, so segment numbers never restart.
	Release(segment uint64) error
	// Close syncs nothing and releases the log.
	Close() error
}

// LogOptions configures a Log.
type LogOptions struct {
	FS          vfs.FS
	Dir         string // directory holding the segments
	SegmentSize int64  // rotate when the active segment reaches this size
	// NoMmap makes a log that can write through a memory mapping (see
	// vfs.Mappable) use write system calls instead.
	NoMmap bool
}

// NewLog opens (creating if needed) a log.
type NewLog func(LogOptions) (Log, error)
