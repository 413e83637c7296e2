package main

import (
	"encoding/binary"
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
)

// Keys of the db_bench-style workloads are the numbers [0, n) written as
// keySize zero-padded decimal digits: printable, fixed width, and ordered
// like the numbers, so fillseq writes in key order. YCSB keys are
// "user" followed by 16 hex digits of a bijective hash of the record
// number, so records loaded in number order land all over the key space
// (YCSB's hashed insert order).

// dbKeySize is the length of a db_bench-style key.
const dbKeySize = 16

// putDecimal writes n as zero-padded decimal into all of dst.
func putDecimal(dst []byte, n uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}

// ycsbKeySize is the length of a YCSB key: "user" and 16 hex digits.
const ycsbKeySize = 4 + 16

// putYCSBKey writes the key of record n into dst, which must hold
// ycsbKeySize bytes.
func putYCSBKey(dst []byte, n uint64) {
	const hexDigits = "0123456789abcdef"
	copy(dst, "user")
	h := mix64(n)
	for i := 19; i >= 4; i-- {
		dst[i] = hexDigits[h&15]
		h >>= 4
	}
}

// mix64 is the splitmix64 finalizer: a cheap bijection of uint64 with good
// mixing, used to scatter record numbers and to scramble zipfian draws.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// shuffle is a seeded permutation of [0, n) computed on demand, so that a
// random fill writes every key exactly once without holding n numbers in
// memory. It is a balanced Feistel network on the smallest even bit width
// covering n; draws outside [0, n) are fed back in until one lands inside
// (cycle walking), which takes fewer than four rounds on average.
type shuffle struct {
	n     uint64
	half  uint
	mask  uint64
	round [4]uint64
}

func newShuffle(n, seed uint64) *shuffle {
	w := uint(2)
	if n > 1 {
		w = uint(bits.Len64(n - 1))
		w += w & 1
		w = max(w, 2)
	}
	s := &shuffle{n: n, half: w / 2, mask: 1<<(w/2) - 1}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range s.round {
		s.round[i] = r.Uint64()
	}
	return s
}

// at returns the i-th element of the permutation; i must be below n.
func (s *shuffle) at(i uint64) uint64 {
	for {
		hi, lo := i>>s.half, i&s.mask
		for _, k := range s.round {
			hi, lo = lo, hi^(mix64(lo^k)&s.mask)
		}
		i = hi<<s.half | lo
		if i < s.n {
			return i
		}
	}
}

// valueSource fills values with seeded, incompressible bytes (ChaCha8), so
// that no engine gains from compressing them and every run writes the same
// bytes.
type valueSource struct {
	c *rand.ChaCha8
}

func newValueSource(seed uint64, stream string) *valueSource {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	h := fnv.New64a()
	h.Write([]byte(stream))
	binary.LittleEndian.PutUint64(s[8:], h.Sum64())
	return &valueSource{c: rand.NewChaCha8(s)}
}

// fill overwrites v with fresh random bytes.
func (vs *valueSource) fill(v []byte) { vs.c.Read(v) }
