package leveled

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/nokv/nokv/iface"
)

// This file plans the L0 ingest buffer's work: which shard a move of L0
// fills, drains of a buffer into its level's main run, and merges inside a
// shard. docs/compaction.md states the rules; in short, with "older" meaning
// a smaller Seq and "overlap" a shared user key:
//
//   - a move takes a suffix of L0 (planL0), so it is newer than every
//     buffer table;
//   - a drain takes the oldest buffer tables (a prefix in Seq order, up to
//     the first busy one), so no older table that overlaps one of them stays;
//   - a merge inside a shard takes its tables plus every buffer table whose
//     Seq lies between theirs and that overlaps an older one of them, so the
//     output (which takes the largest Seq) is read neither too early nor too
//     late.

// moveShard returns the shard of the base level's buffer that the next move
// of L0 fills, and false when the buffer has no room: when it holds twice a
// drain trigger (IngestDrainShare of the base level's target, or
// IngestDrainRuns runs), busy tables included.
func (l *Leveled) moveShard(s *iface.LevelsSnapshot, sh Shape) (int, bool) {
	all := buffer(s, sh.Base)
	drain := l.drainBytes(sh)
	if levelBytes(all) >= 2*drain || runs(all) >= 2*l.opts.IngestDrainRuns {
		return 0, false
	}
	ss, n := shards(s, sh.Base), l.opts.IngestShards
	size := func(j int) int64 {
		if j < len(ss) {
			return levelBytes(ss[j])
		}
		return 0
	}
	if l.opts.IngestShardChoice == ShardByBacklog {
		best := 0
		for j := 1; j < n; j++ {
			if size(j) < size(best) {
				best = j
			}
		}
		return best, true
	}
	// By order: the shard holding the newest table until it is full, then
	// the next empty one; the same one again if none is empty.
	cur, newest := -1, uint64(0)
	for j, ts := range ss {
		for _, t := range ts {
			if cur < 0 || t.OrderSeq() > newest {
				cur, newest = j, t.OrderSeq()
			}
		}
	}
	if cur < 0 {
		return 0, true
	}
	full := l.opts.IngestShardBytes
	if full == 0 {
		full = max(1, drain/int64(n))
	}
	if cur < n && size(cur) < full {
		return cur, true
	}
	for i := 1; i <= n; i++ {
		if j := (cur + i) % n; j >= len(ss) || len(ss[j]) == 0 {
			return j, true
		}
	}
	if cur < n {
		return cur, true
	}
	return 0, false
}

// planDrain plans a drain of level lvl's buffer into its main run: the
// oldest buffer tables, in Seq order up to the first busy one, with the
// main-run tables that overlap their combined range. Tables that overlap
// neither each other nor the main run move without a rewrite.
//
// No drain is made while a table of the level that compacts into lvl (L0
// for the base level, lvl-1 below it) is busy: that compaction may be
// writing lvl's main run over a range the drain's outputs would span.
func (l *Leveled) planDrain(s *iface.LevelsSnapshot, sh Shape, lvl int) *iface.CompactionPlan {
	old := slices.Clone(buffer(s, lvl))
	slices.SortStableFunc(old, func(a, b iface.TableMeta) int { return cmp.Compare(a.OrderSeq(), b.OrderSeq()) })
	var take []iface.TableMeta
	for _, t := range old {
		if s.Busy[t.ID] {
			break
		}
		take = append(take, t)
	}
	if len(take) == 0 {
		return nil
	}
	above := level(s, 0)
	if lvl > sh.Base {
		above = level(s, lvl-1)
	}
	if anyBusy(s, above) {
		return nil
	}
	lo, hi := userRange(take)
	main := overlapping(level(s, lvl), lo, hi)
	if anyBusy(s, main) {
		return nil
	}
	var reason string
	if lvl == sh.Base && l.ingestOn() {
		reason = fmt.Sprintf("drain: L%d ingest buffer holds %d bytes in %d runs (triggers: %d bytes, %d runs)",
			lvl, sh.IngestBytes[lvl], sh.IngestRuns[lvl], l.drainBytes(sh), l.opts.IngestDrainRuns)
	} else {
		reason = fmt.Sprintf("drain: L%d ingest buffer left behind (base level L%d, buffer on: %t)", lvl, sh.Base, l.ingestOn())
	}
	p := newPlan(reason, lvl, append(bufferInputs(s, lvl, take), input(lvl, main))...)
	if len(main) == 0 && disjoint(take) {
		p.Move = true
	}
	return p
}

// planMerge plans a merge inside shard sh of level lvl's buffer: its tables,
// none busy, plus every buffer table of another shard that must join for the
// output to keep the read order (see the file comment; with ShardByOrder
// there is none). The output goes back to the shard.
func (l *Leveled) planMerge(s *iface.LevelsSnapshot, sh Shape, lvl, shard int) *iface.CompactionPlan {
	ts := shards(s, lvl)[shard]
	if anyBusy(s, ts) || runs(ts) < 2 {
		return nil
	}
	all := buffer(s, lvl)
	take := slices.Clone(ts)
	in := map[uint64]bool{}
	for _, t := range take {
		in[t.ID] = true
	}
	for grew := true; grew; {
		grew = false
		top := maxSeq(take)
		for _, r := range all {
			if in[r.ID] || r.OrderSeq() > top {
				continue
			}
			for _, m := range take {
				if r.OrderSeq() > m.OrderSeq() && meets(r, m) {
					if s.Busy[r.ID] {
						return nil
					}
					take, in[r.ID], grew = append(take, r), true, true
					break
				}
			}
		}
	}
	reason := fmt.Sprintf("merge inside: L%d ingest shard %d holds %d runs (trigger: %d)", lvl, shard, runs(ts), l.opts.IngestMergeRuns)
	if len(take) > len(ts) {
		reason += fmt.Sprintf("; %d tables of other shards join to keep the read order", len(take)-len(ts))
	}
	p := newPlan(reason, lvl, bufferInputs(s, lvl, take)...)
	p.OutputIngest, p.OutputShard = true, shard
	return p
}

// shards returns the shards of level lvl's buffer.
func shards(s *iface.LevelsSnapshot, lvl int) [][]iface.TableMeta {
	if lvl < len(s.Ingest) {
		return s.Ingest[lvl]
	}
	return nil
}

// buffer returns every table of level lvl's buffer, shard by shard.
func buffer(s *iface.LevelsSnapshot, lvl int) []iface.TableMeta {
	var out []iface.TableMeta
	for _, ts := range shards(s, lvl) {
		out = append(out, ts...)
	}
	return out
}

// bufferInputs returns the inputs naming ts, tables of level lvl's buffer:
// one per shard, in shard order, each listing its tables as the shard does
// (newest first).
func bufferInputs(s *iface.LevelsSnapshot, lvl int, ts []iface.TableMeta) []iface.CompactionInput {
	want := map[uint64]bool{}
	for _, t := range ts {
		want[t.ID] = true
	}
	var out []iface.CompactionInput
	for j, shard := range shards(s, lvl) {
		in := iface.CompactionInput{Level: lvl, Ingest: true, Shard: j}
		for _, t := range shard {
			if want[t.ID] {
				in.Tables = append(in.Tables, t.ID)
			}
		}
		if len(in.Tables) > 0 {
			out = append(out, in)
		}
	}
	return out
}

// closeOlder returns taken plus every table of all older than a table it
// holds and overlapping it, repeatedly: the buffer tables that must leave
// with taken so that none older stays above the data they leave to.
func closeOlder(all, taken []iface.TableMeta) []iface.TableMeta {
	in := map[uint64]bool{}
	for _, t := range taken {
		in[t.ID] = true
	}
	for grew := true; grew; {
		grew = false
		for _, r := range all {
			if in[r.ID] {
				continue
			}
			for _, m := range taken {
				if r.OrderSeq() < m.OrderSeq() && meets(r, m) {
					taken, in[r.ID], grew = append(taken, r), true, true
					break
				}
			}
		}
	}
	return taken
}

// runs returns the sorted runs among ts: their distinct Seqs (the tables one
// merge writes share a Seq and do not overlap).
func runs(ts []iface.TableMeta) int {
	seen := map[uint64]bool{}
	for _, t := range ts {
		seen[t.OrderSeq()] = true
	}
	return len(seen)
}

func maxSeq(ts []iface.TableMeta) uint64 {
	var m uint64
	for _, t := range ts {
		m = max(m, t.OrderSeq())
	}
	return m
}

// meets reports whether the user-key ranges of a and b meet.
func meets(a, b iface.TableMeta) bool {
	return len(overlapping([]iface.TableMeta{a}, iface.UserKey(b.Smallest), iface.UserKey(b.Largest))) > 0
}

// disjoint reports whether no two tables of ts meet.
func disjoint(ts []iface.TableMeta) bool {
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			if meets(ts[i], ts[j]) {
				return false
			}
		}
	}
	return true
}
