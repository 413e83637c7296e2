package skiplist

import (
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

// node is the arena-resident header of one entry. Only the first 16+4*height
// bytes of a node are allocated; the tower slots past its height belong to
// whatever follows it and must never be touched.
type node struct {
	// value packs the value's arena offset (high 32 bits) and length (low 32
	// bits), so replacing a value is one atomic store.
	value  uint64
	keyOff uint32
	keyLen uint32
	// tower[i] is the arena offset of the next node at level i, 0 for none.
	tower [maxHeight]uint32
}

const (
	// maxHeight is the tallest tower a node may have.
	maxHeight = 20
	// nodeHeaderSize is the size of a node without its tower.
	nodeHeaderSize = int(unsafe.Offsetof(node{}.tower))
	// maxNodeSize is the size of a full-height node, the head's size and the
	// slack kept at the end of every chunk.
	maxNodeSize = int(unsafe.Sizeof(node{}))
	// allocAlign is the granularity of every allocation; it keeps nodes
	// 8-byte aligned for the atomic value word.
	allocAlign = 8
	// defaultCapacity is the arena size used when Capacity is 0.
	defaultCapacity = 64 << 20
	// maxCapacity is the largest arena uint32 offsets can address.
	maxCapacity = math.MaxUint32
	// chunkShift sets the chunk size, 1 MiB: chunks are allocated as the
	// arena fills. An arena smaller than a chunk has one chunk of its size.
	chunkShift = 20
	chunkSize  = 1 << chunkShift
	chunkMask  = chunkSize - 1
	// numSlots chunks cover every offset a uint32 can hold.
	numSlots = 1 << (32 - chunkShift)
	// bigFrom is the arena offset from which the arena grows in bigChunk
	// steps instead of one chunk at a time: past it the memtable is
	// evidently filling, and larger chunks can be backed by huge pages.
	bigFrom = 4 << 20
	// bigChunk is the growth step past bigFrom (clipped to the capacity).
	bigChunk = 16 << 20
)

// arena is a bump allocator over chunks of memory that are allocated as the
// arena fills, so a memtable that holds little (pointers into the value log,
// say) costs little however large its capacity. It is safe for concurrent
// use; memory is never freed.
//
// slots[s] points at the memory of offset s<<chunkShift: the start of a
// chunk, or a later part of a chunk larger than one slot (one allocation
// larger than a chunk gets a chunk of its own, covering several slots), so
// the address of off is slots[off>>chunkShift] + off&chunkMask, one table
// load away. The slot pointers keep the chunks alive. A slot is written
// before the high-water mark moves into it, and every offset a reader
// follows was published after that through an atomic link, so readers load
// slots without atomics (the race detector sees the happens-before edge).
type arena struct {
	// slots is an array, not a slice, so that the address of an offset
	// costs no more loads than indexing a single buffer did.
	slots [numSlots]unsafe.Pointer
	// used is the high-water mark: the offset of the next free byte. It
	// only moves into a chunk that is already installed in slots.
	used atomic.Uint64
	// end is the end of the chunk holding used (slack excluded); guarded
	// by growMu for writes, read atomically.
	end atomic.Uint64
	// charged counts the bytes handed out (the head included), checked
	// against limit; it excludes the tails of chunks skipped when an
	// allocation did not fit in them, so the capacity means what it did
	// for a single preallocated buffer.
	charged atomic.Uint64
	limit   uint64
	// capacity is the arena's size: growth steps stop at it.
	capacity uint64
	growMu   sync.Mutex
}

// newArena returns an arena of capacity bytes (at least enough for the head
// node and the slack) with the head node already allocated at offset 0.
// Only the first chunk is allocated now.
func newArena(capacity int64) *arena {
	switch {
	case capacity <= 0:
		capacity = defaultCapacity
	case capacity > maxCapacity:
		capacity = maxCapacity
	}
	if capacity < int64(2*maxNodeSize) {
		capacity = int64(2 * maxNodeSize)
	}
	a := &arena{limit: uint64(capacity) - uint64(maxNodeSize), capacity: uint64(capacity)}
	first := min(uint64(capacity), chunkSize)
	a.install(0, first)
	a.end.Store(first - uint64(maxNodeSize))
	a.used.Store(uint64(maxNodeSize)) // the head node
	a.charged.Store(uint64(maxNodeSize))
	return a
}

// alloc reserves n bytes, rounded up to allocAlign, inside one chunk and
// returns their offset. It returns false, reserving nothing, when they do
// not fit below the limit.
//
// The common case is a compare-and-swap on the high-water mark within the
// current chunk (a failed request leaves it alone, so an oversized entry
// does not make the arena refuse the small ones that still fit). When the
// current chunk cannot hold n bytes plus its slack, the next chunk is
// allocated under a mutex and the mark jumps to it.
func (a *arena) alloc(n uint64) (uint32, bool) {
	n = (n + allocAlign - 1) &^ (allocAlign - 1)
	for {
		if c := a.charged.Load(); c > a.limit || n > a.limit-c {
			return 0, false
		}
		cur := a.used.Load()
		if cur+n > a.end.Load() {
			if !a.grow(cur, n) {
				return 0, false
			}
			continue
		}
		if !a.used.CompareAndSwap(cur, cur+n) {
			continue
		}
		// The reservation is ours; charge it. charged may overshoot the
		// limit by concurrent reservations that raced the check above, by
		// at most one entry per writer, which the engine's slack absorbs.
		a.charged.Add(n)
		return uint32(cur), true
	}
}

// grow installs a chunk that can hold n bytes and moves the high-water mark
// to its start, unless another allocator already moved it (the caller then
// retries). It returns false when the offset space is exhausted.
//
// The mark moves before end is raised: an allocator that loaded the old
// mark and the new end fails its compare-and-swap, and one that loads the
// new mark with the old end comes here and waits.
func (a *arena) grow(cur, n uint64) bool {
	a.growMu.Lock()
	defer a.growMu.Unlock()
	const size = chunkSize
	var made, madeLen uint64 // the chunk installed by an earlier round
	for {
		if a.used.Load() != cur || cur+n <= a.end.Load() {
			return true // another allocator moved the mark or grew the arena
		}
		start := (cur + size - 1) &^ (size - 1) // the next chunk boundary
		need := (n + uint64(maxNodeSize) + size - 1) &^ (size - 1)
		if start >= bigFrom && start < a.capacity {
			// Grow by a big step, clipped to the capacity (rounded up to a
			// chunk): a full 64 MiB memtable makes a handful of chunks,
			// most of them backed by huge pages.
			step := min(uint64(bigChunk), (a.capacity-start+size-1)&^(size-1))
			need = max(need, step)
		}
		if start+need > maxCapacity {
			return false
		}
		if madeLen == 0 || made != start || madeLen < need {
			a.install(start, need)
			made, madeLen = start, need
		}
		if a.used.CompareAndSwap(cur, start) {
			a.end.Store(start + need - uint64(maxNodeSize))
			return true
		}
		cur = a.used.Load() // a small allocation still fit in the old chunk
		if cur+n <= a.end.Load() {
			return true
		}
	}
}

// install allocates a chunk of n bytes for the offsets from start (a chunk
// boundary) and points their slots at it. n is a multiple of the chunk
// size, or less than one for the first chunk of a small arena.
func (a *arena) install(start, n uint64) {
	buf := make([]byte, n)
	adviseHugePages(buf)
	for i := uint64(0); i < n; i += chunkSize {
		a.slots[(start+i)>>chunkShift] = unsafe.Pointer(&buf[i])
	}
}

// size reports the bytes handed out, the head node included.
func (a *arena) size() int64 {
	return int64(a.charged.Load())
}

// addr returns the address of offset off.
func (a *arena) addr(off uint32) unsafe.Pointer {
	return unsafe.Add(a.slots[off>>chunkShift], off&chunkMask)
}

// node views the node at off. The slack at the end of every chunk keeps a
// full-height view inside the chunk.
func (a *arena) node(off uint32) *node {
	return (*node)(a.addr(off))
}

// bytes returns the n bytes at off with the capacity clipped, so an append
// by a caller can never write into the arena. They lie in one chunk.
func (a *arena) bytes(off, n uint32) []byte {
	return unsafe.Slice((*byte)(a.addr(off)), n)
}

// next loads the successor of nd at level i.
func (nd *node) next(i int) uint32 {
	return atomic.LoadUint32(&nd.tower[i])
}

// valueLoc loads the value's arena offset and length.
func (nd *node) valueLoc() (off, n uint32) {
	v := atomic.LoadUint64(&nd.value)
	return uint32(v >> 32), uint32(v)
}

// setValueLoc publishes a value location.
func (nd *node) setValueLoc(off, n uint32) {
	atomic.StoreUint64(&nd.value, uint64(off)<<32|uint64(n))
}
