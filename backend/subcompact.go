package backend

import (
	"bytes"
	"sync"

	"github.com/nokv/nokv/compaction"
	"github.com/nokv/nokv/iface"
)

// mergeResult sums up what the subcompactions of one merge dropped.
type mergeResult struct {
	discard map[uint32]int64 // value-store bytes dropped, per segment
	dropped int64            // entries dropped
	parts   int              // subcompactions run
}

// mergeTables merges the plan's inputs into new tables for its output,
// dropping what the filter allows (tombstones only when no table below the
// output, as v shows it, holds the key; removed are the inputs). A large
// merge is split by user key into up to MaxSubcompactions ranges written in
// parallel; the outputs come back in key order, synced but in no manifest
// yet. If any part fails, every output is removed and the first error is
// returned.
func (db *DB) mergeTables(v *version, plan *iface.CompactionPlan, inputs [][]*tableHandle, inBytes int64,
	removed map[uint64]bool) ([]*tableHandle, mergeResult, error) {
	out := compaction.OutputOf(plan)
	base := db.newFilter(func(uk []byte) bool { return !v.keyBelow(out, removed, uk) }, out.Level)
	bounds := db.subcompactionBounds(inputs, inBytes)
	type part struct {
		outs []*tableHandle
		f    *filter
		err  error
	}
	parts := make([]part, len(bounds)+1)
	run := func(i int) {
		var lo, hi []byte
		if i > 0 {
			lo = bounds[i-1]
		}
		if i < len(bounds) {
			hi = bounds[i]
		}
		f := &filter{snaps: base.snaps, bottom: base.bottom, discard: map[uint32]int64{}}
		it := &boundedIter{Iterator: newMergingIter(inputIters(plan, inputs)), lo: lo, hi: hi}
		outs, err := db.writeTables(it, f, true)
		if cerr := it.Close(); err == nil && cerr != nil {
			db.dropOutputs(outs)
			outs, err = nil, cerr
		}
		parts[i] = part{outs: outs, f: f, err: err}
	}
	if len(parts) == 1 {
		run(0)
	} else {
		var wg sync.WaitGroup
		for i := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				run(i)
			}()
		}
		wg.Wait()
	}
	res := mergeResult{discard: map[uint32]int64{}, parts: len(parts)}
	var outs []*tableHandle
	var firstErr error
	for _, p := range parts {
		if p.err != nil && firstErr == nil {
			firstErr = p.err
		}
		outs = append(outs, p.outs...)
		for seg, n := range p.f.discard {
			res.discard[seg] += n
		}
		res.dropped += p.f.dropped
	}
	if firstErr != nil {
		db.dropOutputs(outs)
		return nil, mergeResult{}, firstErr
	}
	return outs, res, nil
}

// inputIters returns fresh iterators over the plan's inputs: one per table
// for L0 and ingest-buffer inputs (their tables may overlap), one level
// iterator per main-run input (sorted by resolvePlan).
func inputIters(plan *iface.CompactionPlan, inputs [][]*tableHandle) []iface.Iterator {
	var iters []iface.Iterator
	for i, in := range inputs {
		if len(in) == 0 {
			continue
		}
		if plan.Inputs[i].Level > 0 && !plan.Inputs[i].Ingest {
			iters = append(iters, newLevelIter(in))
			continue
		}
		for _, h := range in {
			iters = append(iters, h.t.NewIterator())
		}
	}
	return iters
}

// subcompactionBounds splits a merge of inBytes into parts of at least two
// target table sizes each, at most MaxSubcompactions of them, and returns
// the user keys between the parts (ascending; nil for one part). The bytes
// below a key are estimated from each input table's index
// (ApproximateOffset); each boundary is found by bisecting the inputs' key
// range (byte-wise midpoints of user keys) for the key with its share of
// the bytes below it. So a merge of a few wide L0 tables splits as evenly
// as one of many narrow tables. A boundary need not be a key any table
// holds.
func (db *DB) subcompactionBounds(inputs [][]*tableHandle, inBytes int64) [][]byte {
	n := int64(db.opts.MaxSubcompactions)
	if per := 2 * db.opts.TargetTableSize; inBytes/per < n {
		n = inBytes / per
	}
	if n < 2 {
		return nil
	}
	var tables []*tableHandle
	var lo, hi []byte
	for _, in := range inputs {
		for _, h := range in {
			tables = append(tables, h)
			if s := iface.UserKey(h.meta.Smallest); lo == nil || bytes.Compare(s, lo) < 0 {
				lo = s
			}
			if l := iface.UserKey(h.meta.Largest); hi == nil || bytes.Compare(l, hi) > 0 {
				hi = l
			}
		}
	}
	below := func(uk []byte) int64 {
		var sum int64
		for _, h := range tables {
			switch {
			case bytes.Compare(iface.UserKey(h.meta.Largest), uk) < 0:
				sum += h.meta.Size
			case bytes.Compare(iface.UserKey(h.meta.Smallest), uk) >= 0:
			default:
				sum += int64(h.t.ApproximateOffset(iface.MakeKey(nil, uk, iface.MaxVersion)))
			}
		}
		return sum
	}
	var bounds [][]byte
	for j := int64(1); j < n; j++ {
		target := j * inBytes / n
		// Invariant: below(a) < target <= below(b), up to the estimate.
		a, b := lo, hi
		for range 32 {
			m := midKey(a, b)
			if bytes.Compare(m, a) <= 0 || bytes.Compare(m, b) >= 0 {
				break
			}
			if below(m) < target {
				a = m
			} else {
				b = m
			}
		}
		if bytes.Compare(b, lo) > 0 && (len(bounds) == 0 || bytes.Compare(b, bounds[len(bounds)-1]) > 0) {
			bounds = append(bounds, b)
		}
	}
	return bounds
}

// midKey returns a key about halfway between a and b (a < b) in byte
// order: both are read as fractions (bytes after the radix point) and
// averaged, trailing zero bytes dropped. It returns a when that lands
// below a (a and b equal as fractions, like "x" and "x\x00").
func midKey(a, b []byte) []byte {
	n := max(len(a), len(b)) + 1
	m := make([]byte, n)
	carry := 0
	// Sum from the last byte up, then halve from the first byte down.
	sum := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		x := carry
		if i < len(a) {
			x += int(a[i])
		}
		if i < len(b) {
			x += int(b[i])
		}
		sum[i], carry = x&0xff, x>>8
	}
	rem := carry
	for i := 0; i < n; i++ {
		x := rem<<8 | sum[i]
		m[i], rem = byte(x>>1), x&1
	}
	for len(m) > 0 && m[len(m)-1] == 0 {
		m = m[:len(m)-1]
	}
	if bytes.Compare(m, a) < 0 { // a and b differ only by trailing zeros
		return a
	}
	return m
}

// boundedIter limits an iterator to the user keys in [lo, hi) (nil: no
// bound) for the forward scan writeTables does: First and Next only.
type boundedIter struct {
	iface.Iterator
	lo, hi []byte
}

func (b *boundedIter) First() bool {
	if b.lo != nil {
		b.Iterator.SeekGE(iface.MakeKey(nil, b.lo, iface.MaxVersion))
	} else {
		b.Iterator.First()
	}
	return b.Valid()
}

func (b *boundedIter) Next() bool {
	b.Iterator.Next()
	return b.Valid()
}

func (b *boundedIter) Valid() bool {
	return b.Iterator.Valid() && (b.hi == nil || bytes.Compare(iface.UserKey(b.Iterator.Key()), b.hi) < 0)
}
