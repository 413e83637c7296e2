package sstable

import (
	"github.com/cespare/xxhash/v2"
)

// The filter is a cache-line-blocked bloom filter: a key's probes all fall
// in one 64-byte line, so a lookup costs one cache miss however large the
// filter, for a slightly higher false-positive rate than a plain bloom filter
// (about 1% at 10 bits per key).
const (
	bloomLineBytes = 64
	bloomLineBits  = bloomLineBytes * 8 // 512: a probe takes 9 bits of hash
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

// bloomLine picks the line of a hash: the high 32 bits scaled to [0, lines).
func bloomLine(h uint64, lines uint64) uint64 { return (h >> 32) * lines >> 32 }

// buildBloom appends to dst the filter block for the given key hashes: the
// lines followed by the probe count.
func buildBloom(dst []byte, hashes []uint64, bitsPerKey int) []byte {
	lines := uint64(max((len(hashes)*bitsPerKey+bloomLineBits-1)/bloomLineBits, 1))
	k := bloomProbes(bitsPerKey)
	start := len(dst)
	dst = append(dst, make([]byte, lines*bloomLineBytes)...)
	array := dst[start:]
	for _, h := range hashes {
		line := array[bloomLine(h, lines)*bloomLineBytes:][:bloomLineBytes]
		h2 := uint32(h)
		for j := 0; j < k; j++ {
			bit := h2 >> (32 - 9)
			line[bit/8] |= 1 << (bit % 8)
			h2 *= 0x9e3779b9
		}
	}
	return append(dst, byte(k))
}

// bloom is a decoded filter block.
type bloom struct {
	array []byte // the lines; nil when the table has no filter
	lines uint64
	k     int
}

// decodeBloom checks a filter block's shape and reports false if it is damaged.
func decodeBloom(b []byte) (bloom, bool) {
	if len(b) < bloomLineBytes+1 || (len(b)-1)%bloomLineBytes != 0 {
		return bloom{}, false
	}
	k := int(b[len(b)-1])
	if k < 1 || k > 30 {
		return bloom{}, false
	}
	array := b[:len(b)-1]
	return bloom{array: array, lines: uint64(len(array) / bloomLineBytes), k: k}, true
}

// mayContain reports whether a key with hash h may be in the set; false means
// it certainly is not. A table without a filter may contain anything.
func (f *bloom) mayContain(h uint64) bool {
	if f.array == nil {
		return true
	}
	line := f.array[bloomLine(h, f.lines)*bloomLineBytes:][:bloomLineBytes]
	h2 := uint32(h)
	for j := 0; j < f.k; j++ {
		bit := h2 >> (32 - 9)
		if line[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
		h2 *= 0x9e3779b9
	}
	return true
}
