package segmented

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// filter is a register-blocked Bloom filter of the user keys added to a
// segment, so that a Get of a key a segment does not hold (the common
// case: most reads are for keys already flushed) skips that segment's
// search. Each key sets filterProbes bits within one 64-bit word, so an add
// is one atomic OR and a check one load. It holds one bit per
// filterBytesPerBit bytes of segment capacity: an 8 MiB segment gets a 128
// KiB filter, about 19 bits per entry at 100-byte values (a false positive
// rate near 1%) and 5 at the smallest entries (about 10%); a false positive
// only costs the search the filter would have saved.
type filter struct {
	words []uint64
	mask  uint64 // len(words)-1
}

const (
	filterProbes      = 4
	filterBytesPerBit = 8
)

var filterSeed = maphash.MakeSeed()

func newFilter(capacity int64) filter {
	n := uint64(max(capacity/filterBytesPerBit/64, 1))
	n = 1 << (63 - bits.LeadingZeros64(n)) // a power of two, rounded down
	return filter{words: make([]uint64, n), mask: n - 1}
}

func filterHash(userKey []byte) uint64 { return maphash.Bytes(filterSeed, userKey) }

// probe returns the word a hash selects and the bits it sets there: the
// low 24 bits pick four bit positions, the high bits the word.
func (f *filter) probe(h uint64) (*uint64, uint64) {
	var m uint64
	for i := range filterProbes {
		m |= 1 << ((h >> (6 * i)) & 63)
	}
	return &f.words[(h>>32)&f.mask], m
}

func (f *filter) add(h uint64) {
	w, m := f.probe(h)
	if atomic.LoadUint64(w)&m != m {
		atomic.OrUint64(w, m)
	}
}

func (f *filter) mayContain(h uint64) bool {
	w, m := f.probe(h)
	return atomic.LoadUint64(w)&m == m
}
