// Package vlog is NoKV's value log, the default iface.ValueStore: values of
// at least a threshold size (1 KiB by default) are appended to segment files
// once, and the LSM tree keeps a 12-byte iface.ValuePtr in their place, so
// compactions move pointers instead of large values (WiscKey). Smaller
// values and tombstones stay inline.
//
// # Layout
//
// One directory holds the segments and the discard statistics:
//
//	dir/
//	  000001.vlog    sealed: fsynced in full before 000002 was created
//	  000002.vlog    sealed
//	  000003.vlog    active: Write appends here
//	  DISCARD        garbage bytes per segment (rewritten atomically)
//
// Segment numbers start at 1 and only grow; the active segment is always the
// newest and is never removed, so a number is never reused. A segment is a
// header and records, all integers little-endian:
//
//	segment:
//	+----------------+----------+----------+-----+----------+
//	| header (16)    | record 0 | record 1 | ... | record n |
//	+----------------+----------+----------+-----+----------+
//
//	header:
//	+-------------+------------------+-------------+-----------------------+
//	| magic "NKVL"| format version 4 | segment (4) | crc32c(first 12) (4)  |
//	+-------------+------------------+-------------+-----------------------+
//
//	record:
//	+------------+--------------+-------------+---------------+--------------------+-----+-------+--------------------------+
//	| keyLen (4) | valueLen (4) | version (8) | expiresAt (8) | crc32c(first 24) 4 | key | value | crc32c(all before) (4)   |
//	+------------+--------------+-------------+---------------+--------------------+-----+-------+--------------------------+
//	 \_____________________________ header (28) _____________________________/
//
// A ValuePtr's Offset and Len address the whole record, so the discard
// bytes that flush and compaction report (ValuePtr.Len of each dropped
// pointer) are exactly the bytes a segment frees. A record carries its key,
// version and expiry, so GC can rebuild the internal key
// iface.MakeKey(key, version) and ask the tree whether the pointer is live.
// The header has a checksum of its own: a damaged length is then told apart
// from a record cut short by a crash, and a recovery never truncates good
// records after a flipped length bit.
//
// # The live set in the manifest
//
// The engine records the value log in its manifest (edit fields 7, 8 and
// 9): the head as of each flush, and the live segment set. A segment joins
// the set in the flush edit whose head reaches it (so every segment at or
// below the recorded head is recorded), and leaves it in an edit GC applies
// after it rewrote and synced the segment's live values and before the file
// is deleted. Open checks the directory against the record passed in
// Options.Recorded:
//
//	live in the manifest, file present      open it
//	live in the manifest, file missing      Open fails: *iface.CorruptionError
//	                                        naming the file (values are lost)
//	not live, at or above the head segment  keep: written since the last
//	                                        flush; the log replays its pointers
//	not live, below the head segment        remove: GC dropped it and crashed
//	                                        before deleting the file; no
//	                                        pointer that can be read reaches it
//
// The leftover is removed rather than reported because its state is
// certain: the drop is recorded only after every live value was rewritten
// durably, and a dropped segment is never read again. Stats.Orphans counts
// the removals. A record with an empty live set (a store written before the
// set was kept) checks nothing; the engine then records the files it found.
//
// # Durability contract
//
//   - Write hands a batch's records to the operating system in one write
//     call (one per segment when the batch crosses into a new segment)
//     before it returns: they survive a crash of the process, not a power
//     loss.
//   - Sync fsyncs the active segment: every value written before it survives
//     a power loss. The engine syncs the value log before it syncs the
//     write-ahead log, so a pointer in a synced log record always points at
//     durable data.
//   - Rotation fsyncs the segment it seals before it creates the next one,
//     and a new segment's header and directory entry are fsynced before any
//     record goes in. So every segment but the newest is durable in full.
//   - After a crash only the newest segment may end in a torn tail (a
//     partial or zero-filled record). Open trims it and fsyncs the segment
//     (the previous process may have died with records the OS still held).
//     Any other damage (a checksum failure with data after it, a bad header)
//     fails Open with an *iface.CorruptionError naming the file and offset;
//     it is never repaired silently. Sealed segments are not read through
//     at Open: Read checks every record it returns, and Verify checks all.
//   - A failed write or fsync is sticky: Write and Sync return it from then
//     on, and reopening recovers.
//   - Discard statistics are advisory. AddDiscard rewrites DISCARD (temporary
//     file, fsync, rename, directory fsync) every DiscardPersistEvery calls,
//     and Close rewrites it. A crash loses at most the updates since the last
//     rewrite: those garbage bytes are never counted, which only delays the
//     collection of the segments they belong to (they are picked later, when
//     other garbage pushes them over the ratio).
//
// # Reads
//
// Read resolves a pointer with one positioned read (ReadAt) of the whole
// record, so reads never contend on a file offset, and checks both of its
// checksums. A read cache of Options.CacheSize bytes (32 MiB by default;
// negative disables it) keeps recently read values, keyed by segment and
// offset, which are never reused for other bytes; a hit skips the file and
// the checksums, which were checked when the value was cached. Read still
// fails for a pointer into a segment that no longer exists, cached or not.
// Stats reports hits and misses. Engines read ahead of an iterator by
// calling Read from several goroutines (backend IterOptions.PrefetchValues).
//
// # Garbage collection
//
// The engine owns the liveness check and rewrites live values through its
// own write path (so versions and ordering stay right); this package only
// offers the mechanics: Segments and PickForGC choose a segment,
// IterateSegment streams its records, and RemoveSegment deletes it once no
// reader can reach it. Readers are protected twice: every Read and
// IterateSegment holds a reference on the segment's file handle, and Pin
// keeps every segment that existed when it was taken readable until it is
// released, so an iterator that found an old pointer before GC rewrote the
// value can still read it.
package vlog
