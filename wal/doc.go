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
//   - Append hands the framed record to the operating system in one write
//     before it returns. The record survives a crash of the process (panic,
//     kill -9) but not a power loss or kernel crash.
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
// torn tail, since a cleanly reopened log never has one.
package wal
