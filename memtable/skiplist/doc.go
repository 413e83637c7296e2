// Package skiplist is NoKV's default memtable: a lock-free skiplist whose
// nodes, keys and values all live in a byte arena.
//
// # Arena
//
// The arena is an address space of MemtableOptions.Capacity bytes, backed by
// chunks allocated as it fills: 1 MiB at a time for its first 4 MiB (an
// arena smaller than a chunk has one chunk of its size), then 16 MiB at a
// time, clipped to the capacity. A memtable that holds little, such as one
// holding value-log pointers instead of large values, so costs what it
// holds and not its capacity. On Linux the 2 MiB-aligned interior of every
// big chunk is advised for transparent huge pages (MADV_HUGEPAGE, honoured
// when /sys/kernel/mm/transparent_hugepage/enabled is "madvise" or
// "always"): a search is a chain of loads at random offsets, and with
// 4 KiB pages each one also missed the TLB (64 MiB is 16,384 pages, 32
// huge pages). That cut an insert into a 64 MiB memtable of random keys
// from about 2.2 to 1.8 us on the 2-core test machine. Memory is handed out by bumping the arena's high-water
// mark with one atomic compare-and-swap, and is never freed or reused, so a
// slice returned by Get or by an iterator stays valid for the life of the
// memtable. Nodes refer to each other, and to their keys and values, by
// uint32 arena offsets instead of pointers: the chunks are pointer-free
// objects the garbage collector never scans, however many entries they hold.
//
//	offset 0                                    1 MiB                     2 MiB
//	|                                             |                         |
//	v                                             v                         v
//	+-----------+------+-----+-------+-----+--...-+------+-----+-------+--...-+
//	| head node | node | key | value | pad |(skip)| node | key | value |      |
//	+-----------+------+-----+-------+-----+--...-+------+-----+-------+--...-+
//	            \______ one Add: one allocation ______/
//	                    (rounded up to 8 bytes, never across a chunk)
//
//	node (8-byte aligned, 16 + 4*height bytes):
//	+-------------------------------+------------+------------+---------------+
//	| value word (8, atomic):       | keyOff (4) | keyLen (4) | tower[height] |
//	|   valueOff<<32 | valueLen     |            |            | (4 each)      |
//	+-------------------------------+------------+------------+---------------+
//
// A table of 4096 slots, one per MiB of the 4 GiB that uint32 offsets
// reach, maps an offset to its chunk, so an offset costs one table load to
// resolve, as indexing a single buffer did. An allocation that does not fit
// in the rest of the current chunk starts the next one (the tail is
// skipped); one larger than a chunk gets a chunk of its own covering several
// slots. A new chunk is made under a mutex and published before the mark
// moves into it; the common path takes no lock. The capacity counts the
// bytes handed out, not the skipped tails, so it means what it did for one
// preallocated buffer.
//
// The head node sits at offset 0 with a full tower, so offset 0 doubles as
// "no node" in a tower slot (no tower ever points back at the head). The
// slack at the end of every chunk (one full-height node) is never handed
// out, so viewing any node as a full-height struct stays inside its chunk.
// An Add that does not fit below the capacity fails with iface.ErrFull; the
// entries already added are untouched and the engine rotates the memtable.
//
// # Concurrency
//
// Add links a new node bottom-up with one compare-and-swap per level; a CAS
// that loses a race re-searches that level from its known predecessor, so
// writers never block each other or readers. Nodes are never unlinked. Get
// and iterators only load tower slots atomically.
//
// Adding an internal key that is already present allocates the new value and
// then stores the node's value word (offset and length packed in one uint64),
// so a reader sees either the whole old value or the whole new one. The old
// value's bytes stay in the arena.
//
// Tower heights are drawn with p = 1/e up to 20 levels, which keeps searches
// logarithmic far beyond the entry count a 4 GiB arena (the most uint32
// offsets reach) can hold.
package skiplist
