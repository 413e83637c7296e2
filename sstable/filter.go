package sstable

import (
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// bloomHash is the filter's one hash of a user key. xxhash64 has no seed, so
// the filter reads the same in every process.
func bloomHash(userKey []byte) uint64 { return xxhash.Sum64(userKey) }

// bloomProbes is the number of probes that minimises the false-positive rate
// for the given bits per key (k = bits * ln 2), kept within [1, 30].
func bloomProbes(bitsPerKey int) int {
	k := bitsPerKey * 69 / 100
	return max(1, min(k, 30))
}

// buildBloom appends to dst the filter block for the given key hashes: the
// bit array followed by the probe count.
func buildBloom(dst []byte, hashes []uint64, bitsPerKey int) []byte {
	nbits := max(len(hashes)*bitsPerKey, 64)
	nbytes := (nbits + 7) / 8
	nbits = nbytes * 8
	k := bloomProbes(bitsPerKey)
	start := len(dst)
	dst = append(dst, make([]byte, nbytes)...)
	array := dst[start:]
	for _, h := range hashes {
		delta := bits.RotateLeft64(h, 17)
		for j := 0; j < k; j++ {
			pos := h % uint64(nbits)
			array[pos/8] |= 1 << (pos % 8)
			h += delta
		}
	}
	return append(dst, byte(k))
}

// bloom is a decoded filter block.
type bloom struct {
	array []byte // the bit array; nil when the table has no filter
	nbits uint64
	k     int
}

// decodeBloom checks a filter block's shape and reports false if it is damaged.
func decodeBloom(b []byte) (bloom, bool) {
	if len(b) < 2 {
		return bloom{}, false
	}
	k := int(b[len(b)-1])
	if k < 1 || k > 30 {
		return bloom{}, false
	}
	array := b[:len(b)-1]
	return bloom{array: array, nbits: uint64(len(array)) * 8, k: k}, true
}

// mayContain reports whether a key with hash h may be in the set; false means
// it certainly is not.
func (f *bloom) mayContain(h uint64) bool {
	if f.array == nil {
		return true
	}
	delta := bits.RotateLeft64(h, 17)
	for j := 0; j < f.k; j++ {
		pos := h % f.nbits
		if f.array[pos/8]&(1<<(pos%8)) == 0 {
			return false
		}
		h += delta
	}
	return true
}
