package main

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"time"

	"github.com/nokv/nokv"
)

// The workloads bench runs. Keys are numbers in [0, keys) written as
// fixed-width decimal, so they are printable and their byte order is their
// numeric order (fillseq writes in key order).
const (
	wlFillSeq    = "fillseq"    // write every key once, in key order
	wlFillRandom = "fillrandom" // write every key once, in a seeded random order
	wlOverwrite  = "overwrite"  // write keys drawn uniformly at random (with repeats)
	wlReadRandom = "readrandom" // read keys drawn uniformly at random, count misses
	wlReadSeq    = "readseq"    // iterate over the whole store
	wlScan       = "scan"       // another name for readseq
)

var workloadNames = []string{wlFillSeq, wlFillRandom, wlOverwrite, wlReadRandom, wlReadSeq, wlScan}

// result is the outcome of one workload.
type result struct {
	name    string
	ops     int64         // entries written, keys read, or entries iterated
	bytes   int64         // key and value bytes written or read
	elapsed time.Duration // wall time of the whole workload
	misses  int64         // readrandom: keys not found
	partial bool          // interrupted before the end
}

// formatKey writes n as zero-padded decimal into all of dst. The caller
// checked that n has at most len(dst) digits.
func formatKey(dst []byte, n uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}

// maxKeys returns how many distinct keys of keySize decimal digits exist,
// saturating at the largest int64.
func maxKeys(keySize int) int64 {
	n := int64(1)
	for range keySize {
		if n > (1<<63-1)/10 {
			return 1<<63 - 1
		}
		n *= 10
	}
	return n
}

// permutation is a seeded bijection of [0, n) that needs no memory: a
// four-round Feistel network over the smallest even number of bits that
// covers n, with cycle walking (apply again until the result is below n).
// The domain is less than 4n, so a lookup takes under four rounds of the
// network on average.
type permutation struct {
	n        uint64
	halfBits uint
	mask     uint64
	keys     [4]uint64
}

func newPermutation(n, seed uint64) *permutation {
	b := uint(bits.Len64(n - 1))
	if n <= 1 {
		b = 0
	}
	b = max(2, b+b%2)
	p := &permutation{n: n, halfBits: b / 2, mask: 1<<(b/2) - 1}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for i := range p.keys {
		p.keys[i] = rng.Uint64()
	}
	return p
}

// at returns the image of i, which must be below n.
func (p *permutation) at(i uint64) uint64 {
	x := i
	for {
		l, r := x>>p.halfBits, x&p.mask
		for _, k := range p.keys {
			l, r = r, l^(mix64(r^k)&p.mask)
		}
		x = l<<p.halfBits | r
		if x < p.n {
			return x
		}
	}
}

// mix64 is the finalizer of splitmix64: a cheap, well-mixing bijection.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// write runs a write workload: cfg.keys entries, key i of the workload being
// keyAt(i), in batches of cfg.batch. Latency is recorded per batch.
func (b *bench) write(name string, keyAt func(i int64) uint64) (result, error) {
	cfg := &b.cfg
	res := result{name: name}
	batch := nokv.NewBatch()
	wo := &nokv.WriteOptions{Sync: cfg.sync}
	key := make([]byte, cfg.keySize)
	val := make([]byte, cfg.valueSize)
	b.prog.Begin(name, cfg.keys)
	start := time.Now()
	for i := int64(0); i < cfg.keys; {
		if b.interrupted.Load() {
			res.partial = true
			break
		}
		batch.Reset()
		m := min(int64(cfg.batch), cfg.keys-i)
		for j := range m {
			formatKey(key, keyAt(i+j))
			b.values.Read(val)
			batch.Set(key, val)
		}
		t0 := time.Now()
		err := b.db.Apply(batch, wo)
		b.hist.Record(int64(time.Since(t0)))
		if err != nil {
			b.prog.End()
			return res, fmt.Errorf("%s: write %d: %w", name, i, err)
		}
		i += m
		res.ops = i
		b.prog.Done.Store(i)
	}
	res.elapsed = time.Since(start)
	b.prog.End()
	res.bytes = res.ops * int64(cfg.keySize+cfg.valueSize)
	b.userBytes += res.bytes
	return res, nil
}

// readRandom reads cfg.keys keys drawn uniformly from the key space and
// counts the ones not found.
func (b *bench) readRandom(name string, rng *rand.Rand) (result, error) {
	cfg := &b.cfg
	res := result{name: name}
	key := make([]byte, cfg.keySize)
	b.prog.Begin(name, cfg.keys)
	start := time.Now()
	for i := int64(0); i < cfg.keys; i++ {
		if b.interrupted.Load() {
			res.partial = true
			break
		}
		formatKey(key, rng.Uint64N(uint64(cfg.keys)))
		t0 := time.Now()
		v, err := b.db.Get(key)
		b.hist.Record(int64(time.Since(t0)))
		switch {
		case errors.Is(err, nokv.ErrNotFound):
			res.misses++
		case err != nil:
			b.prog.End()
			return res, fmt.Errorf("%s: get %q: %w", name, key, err)
		default:
			res.bytes += int64(len(key) + len(v))
		}
		res.ops = i + 1
		if i&255 == 0 {
			b.prog.Done.Store(res.ops)
		}
	}
	res.elapsed = time.Since(start)
	b.prog.End()
	return res, nil
}

// readSeq iterates over the whole store; every entry is one op.
func (b *bench) readSeq(name string) (result, error) {
	res := result{name: name}
	it, err := b.db.NewIterator(nil)
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	b.prog.Begin(name, b.cfg.keys)
	start := time.Now()
	t0 := start
	var verr error
	for ok := it.First(); ok; {
		v, err := it.Value()
		if err != nil {
			verr = err
			break
		}
		res.bytes += int64(len(it.Key()) + len(v))
		res.ops++
		if res.ops&255 == 0 {
			b.prog.Done.Store(res.ops)
			if b.interrupted.Load() {
				res.partial = true
				break
			}
		}
		ok = it.Next()
		t1 := time.Now()
		b.hist.Record(int64(t1.Sub(t0)))
		t0 = t1
	}
	res.elapsed = time.Since(start)
	b.prog.End()
	if err := errors.Join(verr, it.Close()); err != nil {
		return res, fmt.Errorf("%s: after %d entries: %w", name, res.ops, err)
	}
	return res, nil
}

// runWorkload runs the workload called name, the index-th of the run (which
// seeds its random choices).
func (b *bench) runWorkload(name string, index int) (result, error) {
	seed := b.cfg.seed
	rng := rand.New(rand.NewPCG(seed, uint64(index)+1))
	switch name {
	case wlFillSeq:
		return b.write(name, func(i int64) uint64 { return uint64(i) })
	case wlFillRandom:
		p := newPermutation(uint64(b.cfg.keys), seed^uint64(index))
		return b.write(name, func(i int64) uint64 { return p.at(uint64(i)) })
	case wlOverwrite:
		n := uint64(b.cfg.keys)
		return b.write(name, func(int64) uint64 { return rng.Uint64N(n) })
	case wlReadRandom:
		return b.readRandom(name, rng)
	case wlReadSeq, wlScan:
		return b.readSeq(name)
	}
	return result{}, fmt.Errorf("unknown workload %q", name)
}
