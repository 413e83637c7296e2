// Package skiplist is NoKV's default memtable: a lock-free skiplist whose
// nodes, keys and values all live in one preallocated byte arena.
//
// # Arena
//
// The arena is a single []byte of MemtableOptions.Capacity bytes. Memory is
// handed out by bumping the arena's high-water mark with one atomic
// compare-and-swap, and is never freed or reused, so a slice returned by Get or by an iterator stays valid
// for the life of the memtable. Nodes refer to each other, and to their keys
// and values, by uint32 arena offsets instead of pointers: the arena is a
// pointer-free object the garbage collector never scans, however many entries
// it holds.
//
//	offset 0                                                 limit    len
//	|                                                          |       |
//	v                                                          v       v
//	+-----------+------+-----+-------+-----+------+-----+--...--+-------+
//	| head node | node | key | value | pad | node | key |  ...  | slack |
//	+-----------+------+-----+-------+-----+------+-----+--...--+-------+
//	            \______ one Add: one allocation ______/
//	                    (rounded up to 8 bytes)
//
//	node (8-byte aligned, 16 + 4*height bytes):
//	+-------------------------------+------------+------------+---------------+
//	| value word (8, atomic):       | keyOff (4) | keyLen (4) | tower[height] |
//	|   valueOff<<32 | valueLen     |            |            | (4 each)      |
//	+-------------------------------+------------+------------+---------------+
//
// The head node sits at offset 0 with a full tower, so offset 0 doubles as
// "no node" in a tower slot (no tower ever points back at the head). The
// slack at the end of the arena (one full-height node) is never handed out,
// so viewing any node as a full-height struct stays inside the arena. An Add
// that does not fit below the limit fails with iface.ErrFull; the entries
// already added are untouched and the engine rotates the memtable.
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
// Tower heights are drawn with p = 1/4 up to 20 levels, which keeps searches
// logarithmic far beyond the entry count a 4 GiB arena (the most uint32
// offsets reach) can hold.
package skiplist
