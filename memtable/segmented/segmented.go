// Package segmented builds a large memtable out of smaller ones.
//
// A search in a memtable is a chain of dependent loads at random addresses,
// and its cost grows with the memtable's size much faster than the log of
// its entry count once the memtable outgrows the CPU caches: on the 2-core
// test machine an insert of a random key into a skiplist arena of 8 MiB
// costs about 0.65 us, 16 MiB 0.9 us, 32 MiB 1.2 us and 64 MiB 1.6 us. A
// smaller memtable is cheaper to write but flushes more often, into more
// and smaller L0 tables, so more compaction work and read amplification.
//
// A segmented memtable keeps both: it fills a chain of segments, each an
// ordinary memtable of SegmentSize bytes made by the wrapped constructor,
// one after the other, and is flushed as one memtable of the full
// capacity (its iterator merges the segments). Writes search only the
// newest segment; reads search the segments newest first, skipping those
// whose Bloom filter of user keys (1/64 of the segment's size) rules the
// key out.
//
//	Add ──▶ segment 3 (filling)         Get: 3, then 2, 1, 0 while an older
//	        segment 2 (full)                 one may hold a newer version
//	        segment 1 (full)            Iterator: a merge of all four
//	        segment 0 (full)            Flush: one table stream, as before
//
// # Order across segments
//
// The engine hands out versions before inserting, and writers insert
// concurrently, so a version can land in a newer segment than a higher
// version of the same key written at the same moment. Get therefore keeps
// the best candidate over the segments (the newest version at or below
// the one asked for) and skips an older segment only when the highest
// version it ever took is not above the candidate's. An internal key added
// twice (the contract's replace) may live in two segments: the newer
// segment's value wins in Get and iterators show it once.
//
// Len counts entries per segment, so a replaced key may count twice.
package segmented

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/merge"
)

// DefaultSegmentSize is the segment size the engine uses unless told
// otherwise: eight segments to a default 64 MiB memtable. Smaller segments
// make inserts cheaper and seeks dearer, since a seek positions an
// iterator in every segment. Measured on the 2-core test machine, medians
// of 4 runs of `nokv bench` (1M random 100-byte fills, then 1M reads):
// unsegmented about 330k fills/s, 16 MiB segments 380k, 8 MiB 480k, 4 MiB
// 600k; point reads about 260k/s with any of them (175k unsegmented: the
// filters let a read of a flushed key skip the memtable). The worst case
// for seeks, a seek and 10 steps over a memtable of 300,000 entries and
// nothing else (backend BenchmarkShortScan): unsegmented 5 us, 16 MiB
// segments 10 us, 8 MiB 18 us. In the harness's YCSB chain, whose scans
// (ycsb-e) mostly read tables, 8 MiB segments scanned 12% faster than an
// unsegmented memtable, and filled 34% faster (1 writer) and 50% (4).
const DefaultSegmentSize = 8 << 20

// entryOverhead bounds what a memtable adds to an entry's key and value
// bytes (a skiplist node with a full tower is 96 bytes).
const entryOverhead = 128

// Wrap returns a constructor of segmented memtables: a memtable of
// capacity C is made of segments of segmentSize bytes built by newSeg. A
// capacity below twice segmentSize, or a segmentSize of 0 or less, gets a
// single memtable from newSeg, unwrapped.
func Wrap(newSeg iface.NewMemtable, segmentSize int64) iface.NewMemtable {
	return func(opts iface.MemtableOptions) iface.Memtable {
		if segmentSize <= 0 || opts.Capacity < 2*segmentSize {
			return newSeg(opts)
		}
		m := &Memtable{newSeg: newSeg, segSize: segmentSize, capacity: opts.Capacity}
		first := []*segment{newSegment(newSeg, segmentSize)}
		m.segs.Store(&first)
		return m
	}
}

// Memtable is a memtable made of segments. It is safe for concurrent use
// as iface.Memtable requires.
type Memtable struct {
	newSeg   iface.NewMemtable
	segSize  int64
	capacity int64
	// segs is the chain, oldest first. It is replaced (copied and
	// extended), never changed in place, under mu.
	segs atomic.Pointer[[]*segment]
	mu   sync.Mutex
}

var _ iface.Memtable = (*Memtable)(nil)

// segment is one memtable of the chain.
type segment struct {
	m iface.Memtable
	// maxVersion is the highest version ever added to m, raised before
	// the add so that a reader that finds it lower may skip m.
	maxVersion atomic.Uint64
	// keys holds the user keys added to m, set before the add.
	keys filter
}

func newSegment(newSeg iface.NewMemtable, capacity int64) *segment {
	return &segment{m: newSeg(iface.MemtableOptions{Capacity: capacity}), keys: newFilter(capacity)}
}

// Add inserts into the newest segment, starting a new segment when it is
// full. It returns iface.ErrFull only when the segments together already
// hold the capacity (less the entry): the last segment may so take the
// total up to one segment past the capacity. The engine bounds what it adds
// by its own accounting and treats ErrFull from a memtable it sized as
// fatal, so Add errs on the side of taking the entry.
func (m *Memtable) Add(ikey, value []byte) error {
	v, h := iface.Version(ikey), filterHash(iface.UserKey(ikey))
	for {
		segs := *m.segs.Load()
		s := segs[len(segs)-1]
		for {
			cur := s.maxVersion.Load()
			if v <= cur || s.maxVersion.CompareAndSwap(cur, v) {
				break
			}
		}
		s.keys.add(h)
		err := s.m.Add(ikey, value)
		if !errors.Is(err, iface.ErrFull) {
			return err
		}
		if !m.grow(len(segs), int64(len(ikey)+len(value))+entryOverhead) {
			return iface.ErrFull
		}
	}
}

// grow appends a segment to a chain of n segments, unless another writer
// already did. It returns false when the segments hold so much that an
// entry of need bytes would pass the capacity.
func (m *Memtable) grow(n int, need int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	segs := *m.segs.Load()
	if len(segs) != n {
		return true
	}
	if m.size(segs)+need > m.capacity {
		return false
	}
	next := make([]*segment, n+1)
	copy(next, segs)
	next[n] = newSegment(m.newSeg, max(m.segSize, 2*need))
	m.segs.Store(&next)
	return true
}

// Get returns the newest version of ikey's user key at or below
// Version(ikey) over every segment (see the package comment).
func (m *Memtable) Get(ikey []byte) (key, value []byte, ok bool) {
	segs := *m.segs.Load()
	h := filterHash(iface.UserKey(ikey))
	var best uint64
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if ok && s.maxVersion.Load() <= best {
			continue // nothing newer than the candidate can be in s
		}
		if !s.keys.mayContain(h) {
			continue
		}
		k, v, found := s.m.Get(ikey)
		if found && (!ok || iface.Compare(k, key) < 0) {
			key, value, ok, best = k, v, true, iface.Version(k)
		}
	}
	return key, value, ok
}

// NewIterator returns a merge of the segments' iterators (internal/merge,
// with an internal key held by several segments shown once, the newest
// segment's); it sees at least every entry added before the call.
func (m *Memtable) NewIterator() iface.Iterator {
	segs := *m.segs.Load()
	if len(segs) == 1 {
		return segs[0].m.NewIterator()
	}
	its := make([]iface.Iterator, len(segs))
	for i, s := range segs {
		its[len(segs)-1-i] = s.m.NewIterator() // newest first
	}
	return merge.New(its, true)
}

// ApproximateSize sums the segments' sizes.
func (m *Memtable) ApproximateSize() int64 { return m.size(*m.segs.Load()) }

func (m *Memtable) size(segs []*segment) int64 {
	var n int64
	for _, s := range segs {
		n += s.m.ApproximateSize()
	}
	return n
}

// Len sums the segments' entry counts.
func (m *Memtable) Len() int {
	n := 0
	for _, s := range *m.segs.Load() {
		n += s.m.Len()
	}
	return n
}

// LenCountsReplacements reports that Len may count a replaced internal key
// once per segment holding it (memtabletest compares only emptiness).
func (m *Memtable) LenCountsReplacements() bool { return true }

// Segments reports how many segments the memtable has.
func (m *Memtable) Segments() int { return len(*m.segs.Load()) }
