// Package wal is NoKV's write-ahead log, the default iface.Log: an
// append-only sequence of records split over numbered segment files.
//
// # Layout
//
// Segments live in one directory (which may hold other files too; only names
// of the form <digits>.wal are segments). A position is the pair (segment
// number, byte offset of the record's header in that segment).
//
//	dir/
//	  00000007.wal   sealed: fsynced in full before 00000008 was created
//	  00000008.wal   sealed
//	  00000009.wal   active: Append writes here
//
//	segment:
//	+----------+----------+-----+----------+
//	| record 0 | record 1 | ... | record n |
//	+----------+----------+-----+----------+
//
//	record (package internal/record):
//	+----------------+-------------------+---------------------------------+
//	| length (4, LE) | payload (length)  | crc32c(length ++ payload) (4,LE)|
//	+----------------+-------------------+---------------------------------+
//
// Segment numbers only grow. Each Log appends only to segments it created
// itself: the first segment it starts is numbered one past the highest one
// found at Open, so a segment written by an earlier process is never extended.
// Release removes old segments but always keeps the newest one, so numbering
// continues across restarts.
//
// # Durability contract
//
//   - Append hands the framed record to the operating system before it
//     returns. The record survives a crash of the process (panic, kill -9)
//     but not a power loss or kernel crash.
//   - Sync fsyncs the active segment. Once it returns nil, every record
//     appended before it started survives a power loss.
//   - Rotation (by Rotate or when the active segment reaches SegmentSize)
//     fsyncs the segment it seals before starting the next one, and the first
//     segment a Log starts is preceded by an fsync of the newest segment of
//     the previous process. So every segment but the newest is durable in
//     full, and only the newest one can lose records.
//   - Creating and removing segments is followed by an fsync of the
//     directory.
//
// # Mapped segments
//
// Where the file system's files implement vfs.Mappable (the OS file system
// on Linux) and LogOptions.NoMmap is not set, a new segment is created at
// its full SegmentSize with its blocks allocated (fallocate, so a store
// cannot fail for lack of space) and mapped shared; Append copies the framed
// record into the mapping, in ascending 64-byte chunks
// (record.CopyInOrder): a process killed in the middle of a copy then leaves
// the record's first chunks, part of one chunk and zeros, which the reader
// knows for a torn tail (a plain copy may store a record's tail before its
// header, which read as damage). That puts it in the kernel's page cache, exactly
// where a write would have put it, so the durability contract above is
// unchanged, but no system call is made per record (a write of a small
// record costs about as much as the rest of a small commit). Sync is an
// fsync of the file, which writes the mapped pages back. Sealing or closing
// a segment unmaps it and trims it to its records; a segment of a process
// that crashed ends in zeros, which Replay treats as a torn tail (and
// trims) and Verify as the end of the log. A record larger than the rest of
// the mapping grows it; if the file cannot grow, the segment is trimmed and
// written with write calls from then on. File systems without mappings
// (MemFS, ErrorFS) are always written with write calls.
//
// After a crash the newest segment may end in a partial or zero-filled
// record: a torn tail. Replay truncates it (and counts it in Stats). Any other
// damage (a checksum failure with data after it, a torn tail in an older
// segment, a missing segment) is returned as an *iface.CorruptionError naming
// the file and the offset, and is never repaired silently. A file system that
// persists an unsynced tail out of order (a later page without an earlier one)
// leaves a hole that is reported as corruption too.
//
// One limitation comes from the record format: a damaged length field that
// points past the end of the newest segment looks exactly like a torn tail,
// so Replay truncates from there. Verify (used by `nokv check`) reports every
// torn tail but a zero-filled one in the newest segment, since a cleanly
// reopened log never has one.
package wal
