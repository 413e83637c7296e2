package skiplist

import (
	"math"
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
	// slack kept at the end of the arena.
	maxNodeSize = int(unsafe.Sizeof(node{}))
	// allocAlign is the granularity of every allocation; it keeps nodes
	// 8-byte aligned for the atomic value word.
	allocAlign = 8
	// defaultCapacity is the arena size used when Capacity is 0.
	defaultCapacity = 64 << 20
	// maxCapacity is the largest arena uint32 offsets can address.
	maxCapacity = math.MaxUint32
)

// arena is a bump allocator over one byte slice. It is safe for concurrent
// use; memory is never freed.
type arena struct {
	buf []byte
	// used is the high-water mark: the offset of the next free byte.
	used atomic.Uint64
	// limit is the end of the allocatable region (len(buf) minus the slack).
	limit uint64
}

// newArena returns an arena of capacity bytes (at least enough for the head
// node and the slack) with the head node already allocated at offset 0.
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
	a := &arena{buf: make([]byte, capacity)}
	a.limit = uint64(capacity) - uint64(maxNodeSize)
	a.used.Store(uint64(maxNodeSize)) // the head node
	return a
}

// alloc reserves n bytes, rounded up to allocAlign, and returns their offset.
// It returns false, reserving nothing, when they do not fit below the limit.
//
// It is a compare-and-swap loop rather than a bare atomic add so that a
// failed request leaves the high-water mark alone: an oversized entry does
// not make the arena refuse the small ones that still fit, and
// ApproximateSize stays exact.
func (a *arena) alloc(n uint64) (uint32, bool) {
	n = (n + allocAlign - 1) &^ (allocAlign - 1)
	for {
		cur := a.used.Load()
		if n > a.limit-cur {
			return 0, false
		}
		if a.used.CompareAndSwap(cur, cur+n) {
			return uint32(cur), true
		}
	}
}

// size reports the bytes handed out, the head node included.
func (a *arena) size() int64 {
	return int64(a.used.Load())
}

// node views the node at off. The slack guarantees a full-height view stays
// inside buf.
func (a *arena) node(off uint32) *node {
	return (*node)(unsafe.Pointer(&a.buf[off]))
}

// bytes returns buf[off:off+n] with its capacity clipped, so an append by a
// caller can never write into the arena.
func (a *arena) bytes(off, n uint32) []byte {
	return a.buf[off : off+n : off+n]
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
