package segmented

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// filter is a blocked Bloom filter of the user keys added to a segment, so
// that a Get of a key a segment does not hold (the common case: most reads
// are for keys already flushed) skips that segment's search. Each key sets
// filterProbes bits within one 512-bit block, so an add or a check costs
// one cache line. It holds one bit per filterBytesPerBit bytes of segment
// capacity: an 8 MiB segment gets a 128 KiB filter, about 19 bits per
// entry at 100-byte values and 5 at the smallest entries (a false positive
// only costs the search the filter would have saved). Bits are set and
// read atomically, concurrently with adds.
type filter struct {
	words []uint64
	mask  uint64 // blocks-1
}

const (
	filterBlockWords  = 8 // 512 bits, one cache line
	filterProbes      = 4
	filterBytesPerBit = 8
)

var filterSeed = maphash.MakeSeed()

func newFilter(capacity int64) filter {
	blocks := uint64(max(capacity/filterBytesPerBit/(filterBlockWords*64), 1))
	blocks = 1 << (63 - bits.LeadingZeros64(blocks)) // a power of two, rounded down
	return filter{words: make([]uint64, blocks*filterBlockWords), mask: blocks - 1}
}

func filterHash(userKey []byte) uint64 { return maphash.Bytes(filterSeed, userKey) }

func (f *filter) add(h uint64) {
	blk := f.words[((h>>40)&f.mask)*filterBlockWords:][:filterBlockWords]
	for i := range filterProbes {
		bit := (h >> (9 * i)) & 511
		atomic.OrUint64(&blk[bit>>6], 1<<(bit&63))
	}
}

func (f *filter) mayContain(h uint64) bool {
	blk := f.words[((h>>40)&f.mask)*filterBlockWords:][:filterBlockWords]
	for i := range filterProbes {
		bit := (h >> (9 * i)) & 511
		if atomic.LoadUint64(&blk[bit>>6])&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}
