// Package sstable is NoKV's on-disk sorted table format, "sstable/v1": an
// immutable file of internal keys (see iface.Compare) and their stored values,
// written once by a Builder and read by a Reader.
//
// # File layout
//
//	+--------------+---------+--------------+---------+-----+
//	| data block 0 | trailer | data block 1 | trailer | ... |   entries, in key order
//	+--------------+---------+--------------+---------+-----+
//	| index block  | trailer |                                 separator -> data block handle
//	+--------------+---------+
//	| filter block | trailer |   (absent when the filter is off) bloom over user keys
//	+--------------+---------+
//	| props block  | trailer |                                 iface.TableProps
//	+--------------+---------+
//	| footer (64 bytes)      |
//	+------------------------+
//
// The blocks tile the file: each one starts where the previous trailer ends,
// so every byte of a table lies under some checksum.
//
// # Block trailer
//
// Every block is followed by a 5-byte trailer:
//
//	+---------------------+-----------------------------------------------+
//	| compression type(1) | crc32c(stored block bytes ++ type byte) (4,LE) |
//	+---------------------+-----------------------------------------------+
//
// The type is 0 for an uncompressed block and 1 for a Snappy block. A block is
// stored compressed only when that saves at least 1/8 of its size. A block
// handle (offset, length) names the stored bytes, without the trailer.
//
// # Data and index blocks
//
// Keys are prefix-compressed against the previous key of the block; every
// RestartInterval-th entry (a restart point) stores its key whole, so a seek
// can binary-search the restart points:
//
//	+----------------+------------------+------------------+-------------------+-------+
//	| shared (uvar)  | unshared (uvar)  | value len (uvar) | key[shared:]      | value |   entry, repeated
//	+----------------+------------------+------------------+-------------------+-------+
//	| restart offset 0 (4, LE) | ... | restart offset n-1 (4, LE) | n (4, LE)           |
//	+----------------------------------------------------------------------------------+
//
// The index block has the same format with a restart at every entry. Its key
// for data block i is a separator S with last(i) <= S < first(i+1) in
// iface.Compare order (the last key of the block, or a shorter user key with
// the maximum version); its value is the block's handle: offset and length as
// uvarints.
//
// # Filter block
//
// A bloom filter over the distinct user keys (iface.UserKey) of the whole
// table, blocked by cache line: 64-byte lines, then one byte holding the
// number of probes k. A key is hashed once with xxhash64 (no seed, so stable
// across processes): the high 32 bits pick the line (scaled to the number of
// lines), and the low 32 bits, multiplied by 0x9e3779b9 between probes, give
// k bit positions in it (their top 9 bits each). A lookup touches one line.
//
// # Properties block
//
// Uvarint-prefixed smallest and largest keys, then as uvarints: entries,
// deletions, min version, max version, raw key bytes, raw value bytes and the
// number of data blocks. FileSize is not stored; it is the file's size.
//
// # Footer
//
//	+-----------------------+------------------------+-----------------------+
//	| index handle (16)     | filter handle (16)     | props handle (16)     |   each: offset (8, LE), length (8, LE)
//	+-----------------------+------------------------+-----------------------+
//	| format version (4,LE) | crc32c of the 52 bytes before it (4, LE) | magic (8, LE) |
//	+-----------------------+------------------------------------------+---------------+
//
// A missing filter has the handle (0, 0). A reader checks the magic and the
// checksum first (damage is an iface.ErrCorruption), then the version (an
// unknown one is iface.ErrIncompatible).
//
// # Errors and safety
//
// A Reader never panics on a damaged file: every length, varint, handle and
// restart offset is bounds-checked, and damage is reported as an
// *iface.CorruptionError naming the file and the offset of the block (or
// footer) where it was found. Open checks the footer and the index, filter and
// properties blocks; data blocks are checked when read, and Reader.Verify reads
// and checks all of them.
package sstable
