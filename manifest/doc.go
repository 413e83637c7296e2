// Package manifest keeps the metadata of a NoKV store: the tables of every
// level of the LSM tree, the write-ahead-log checkpoint, the next file number,
// the last committed version, and the names of the on-disk components (which
// fix the store's format). The metadata changes only through edits, each
// appended to a log and made durable before it takes effect.
//
// # Files
//
// All files live directly in the store directory:
//
//	CURRENT           "MANIFEST-000007\n": the name of the live manifest file
//	MANIFEST-000007   the live manifest: record-framed edits
//	CURRENT.tmp       transient, only while CURRENT is being replaced
//
// A manifest file is a sequence of records (see internal/record for the
// framing: a length with its own checksum, the payload, a checksum of both),
// as the write-ahead log uses. Every payload is one encoded Edit. The
// first record is a snapshot: one edit that recreates the whole state from
// nothing. Each Apply appends one record and syncs it before returning:
//
//	+-----------------+--------+--------+-----+--------+
//	| snapshot edit   | edit 1 | edit 2 | ... | edit n |
//	+-----------------+--------+--------+-----+--------+
//	 ^ written and synced before CURRENT names the file
//
// Replaying the records in order yields the current State. A torn tail (the
// remains of an append interrupted by a crash; that Apply never returned) is
// truncated by Open. Any other damage is reported as a *iface.CorruptionError
// naming the file and the offset of the damaged record.
//
// # Rewriting
//
// When the live manifest grows past Options.MaxSize, Apply replaces it by a
// file holding only a snapshot. The steps, and why a crash between any two
// of them is harmless:
//
//  1. write MANIFEST-(n+1) with a snapshot edit, Sync, SyncDir: a crash
//     leaves a stale file CURRENT does not name; Open deletes it;
//  2. write CURRENT.tmp, Sync, Rename it over CURRENT, SyncDir: the rename is
//     atomic, and both manifests hold the full state, so whichever CURRENT
//     names after a crash opens to the same state;
//  3. delete MANIFEST-n: a crash leaves a stale file that Open deletes.
//
// Creating a store writes MANIFEST-000001 (an empty snapshot), syncs it and
// the directory, then installs CURRENT the same way. A directory holding no
// CURRENT but a MANIFEST-000001 whose content is at most that empty snapshot
// (possibly torn) is an interrupted creation: Open creates the store afresh,
// which yields exactly the state that file holds. Any other manifest file
// without CURRENT is reported as damage.
//
// # Edit encoding
//
// An edit is a sequence of tagged fields. Every field carries its length, so
// a reader always knows where the next field starts:
//
//	edit  := field*
//	field := tag (uvarint) | length (uvarint) | body (length bytes)
//
//	tag  field            body
//	---  ---------------  ---------------------------------------------------
//	 1   component        uvarint n | name (n) | uvarint m | value (m)
//	 2   log checkpoint   segment (uvarint) | offset (varint)
//	 3   next file number uvarint
//	 4   last version     uvarint
//	 5   delete table     level (varint) | table id (uvarint)
//	 6   add table        level (varint) | id (uvarint) | size (varint) |
//	                      uvarint n | smallest (n) | uvarint m | largest (m) |
//	                      entries | deletions | min version | max version
//	                      (uvarints)
//	 7   value-log head   segment, offset (uvarints): values before it have pointers in tables
//	 8   vlog segment     segment number (uvarint): a value-log segment joins
//	     added            the live set (recorded by the flush whose head
//	                      reaches it)
//	 9   vlog segment     segment number (uvarint): a value-log segment leaves
//	     dropped          the live set (recorded by GC before the file is
//	                      deleted)
//	10   region           reserved: a region descriptor (id, start key, end
//	                      key, epoch version and conf version, peers)
//	11   region removed   reserved: a region id
//	12   add table, with  level (varint) | shard (varint; -1: the level's main
//	     its order        run, s >= 0: shard s of its ingest buffer) |
//	                      seq (uvarint) | the rest as in 6, from id on
//
// Fields 1, 5, 6, 8, 9 and 12 may repeat; the others appear at most once. Writers
// emit fields in tag order (components sorted by name), except that the
// add-table fields 6 and 12 follow the order of Edit.AddTables; readers
// accept any order.
//
// A table is added with field 12 only when it joins an ingest buffer or
// carries an explicit Seq (the ordering key of tables that may overlap, see
// iface.TableMeta.Seq); every other table uses field 6 and reads back with
// Seq 0, which orders it by its id. So a store that never used an ingest
// buffer is written exactly as before, and a manifest written before field
// 12 existed reads unchanged. Field 5 deletes a table from its level's main
// run or buffer, wherever it is (table ids are unique).
// A body must be consumed exactly. New information is added as new tags, so
// every manifest written so far stays readable; a reader that meets a tag it
// does not know (a manifest from a newer NoKV) refuses it with an error naming
// the tag, matching both iface.ErrIncompatible and iface.ErrCorruption.
package manifest
