package leveled

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/nokv/nokv/iface"
)

// planL0 plans the departure of the oldest L0 tables, at most L0MaxInputs of
// them: a move into the base level's ingest buffer, or a compaction into its
// main run with every base-level table it has to merge (see under).
//
// Taking a suffix of L0 (all tables older than any one taken) keeps the
// read-path order: every table left in L0 is newer than everything that
// leaves. Using the combined range, not each table's, keeps the base level
// one sorted run whatever the gaps between the L0 tables.
//
// No plan is made while any L0 table is busy: the snapshot names busy
// tables but not the key ranges in-flight compactions will write, and a
// second L0 compaction whose range falls in a gap of the first one's could
// write base-level tables that overlap its outputs. For the same reason no
// compaction into the main run is made while a table of the base level's
// buffer is busy (a drain may be writing into a gap).
//
// With the buffer on, L0 moves into it when a compaction would rewrite at
// least IngestMoveRatio times the L0 bytes of base-level tables, or when
// that compaction cannot run now; otherwise the compaction is cheap and
// spares the buffer a later drain. A compaction that finds nothing to merge
// under L0 tables that do not overlap each other moves them into the main
// run instead (sequential writes).
func (l *Leveled) planL0(s *iface.LevelsSnapshot, sh Shape) *iface.CompactionPlan {
	l0 := level(s, 0)
	if len(l0) == 0 || anyBusy(s, l0) {
		return nil
	}
	take := l0[len(l0)-min(len(l0), l.opts.L0MaxInputs):]
	reason := fmt.Sprintf("L0 holds %d tables, %d bytes (triggers: %d tables, %d bytes)",
		len(l0), levelBytes(l0), l.opts.L0Trigger, l.opts.L0TriggerBytes)
	buf, main, ok := l.under(s, sh.Base, take)
	if !l.ingestOn() {
		if !ok {
			return nil
		}
		return compactInto(s, reason, 0, sh.Base, take, buf, main)
	}
	over := levelBytes(buf) + levelBytes(main)
	ratio := float64(over) / float64(max(levelBytes(take), 1))
	shard, room := l.moveShard(s, sh)
	if room && (ratio >= l.opts.IngestMoveRatio || !ok) {
		why := fmt.Sprintf("a compaction would rewrite %d bytes under it, %.2f per L0 byte (IngestMoveRatio %.2g)", over, ratio, l.opts.IngestMoveRatio)
		if !ok {
			why = "a compaction into the main run would wait for busy tables"
		}
		p := newPlan(reason+"; move: "+why, sh.Base, input(0, take))
		p.Move, p.OutputIngest, p.OutputShard = true, true, shard
		return p
	}
	if !ok {
		return nil
	}
	p := compactInto(s, reason, 0, sh.Base, take, buf, main)
	if !room {
		p.Reason += "; the ingest buffer is full"
	}
	if len(buf) == 0 && len(main) == 0 && disjoint(take) {
		p.Move = true
		p.Reason += "; nothing to merge: moved"
	}
	return p
}

// under returns what a compaction from above must take at level lvl to write
// src's data into lvl's main run: the buffer tables that overlap src's
// combined range, every buffer table older than one taken that overlaps it
// (a buffer table left behind would be read before the outputs), and the
// main-run tables that overlap the combined range of all of these. ok is
// false when one of them is busy, or when any table of lvl's buffer is busy:
// a drain in flight writes lvl's main run over a range with gaps that the
// snapshot does not show.
func (l *Leveled) under(s *iface.LevelsSnapshot, lvl int, src []iface.TableMeta) (buf, main []iface.TableMeta, ok bool) {
	all := buffer(s, lvl)
	if anyBusy(s, all) {
		return nil, nil, false
	}
	lo, hi := userRange(src)
	buf = closeOlder(all, overlapping(all, lo, hi))
	lo, hi = userRange(append(slices.Clone(src), buf...))
	main = overlapping(level(s, lvl), lo, hi)
	return buf, main, !anyBusy(s, main)
}

// compactInto plans a compaction of src (main-run tables of level from, or
// L0 tables, in the order the level lists them) with buf and main, tables of
// lvl's buffer and main run, into lvl's main run.
func compactInto(s *iface.LevelsSnapshot, reason string, from, lvl int, src, buf, main []iface.TableMeta) *iface.CompactionPlan {
	ins := []iface.CompactionInput{input(from, src)}
	ins = append(ins, bufferInputs(s, lvl, buf)...)
	return newPlan(reason, lvl, append(ins, input(lvl, main))...)
}

// planLevel plans a compaction of level lvl into lvl+1: the non-busy table
// whose overlapping bytes in lvl+1 (see under), per compensated byte of its
// own, are fewest (the least rewriting per byte moved down, and
// tombstone-heavy tables first), with those overlapping tables. Ties go to
// the table with the smallest keys. A table with no overlap moves down
// without a rewrite.
func (l *Leveled) planLevel(s *iface.LevelsSnapshot, sh Shape, lvl int) *iface.CompactionPlan {
	var (
		pick              []iface.TableMeta
		pickBuf, pickOver []iface.TableMeta
		pickCost          float64
	)
	cur := level(s, lvl)
	for i := range cur {
		t := cur[i]
		if s.Busy[t.ID] {
			continue
		}
		buf, over, ok := l.under(s, lvl+1, cur[i:i+1])
		if !ok {
			continue
		}
		cost := float64(levelBytes(buf)+levelBytes(over)) / float64(max(compensated(t), 1))
		if pick == nil || cost < pickCost {
			pick, pickBuf, pickOver, pickCost = cur[i:i+1], buf, over, cost
		}
	}
	if pick == nil {
		return nil
	}
	reason := fmt.Sprintf("L%d over its target of %d bytes (%d bytes in %d tables)", lvl, sh.Targets[lvl], levelBytes(cur), len(cur))
	if b := buffer(s, lvl); len(b) > 0 {
		reason += fmt.Sprintf(", %d bytes in its ingest buffer", levelBytes(b))
	}
	p := compactInto(s, reason, lvl, lvl+1, pick, pickBuf, pickOver)
	if len(pickBuf) == 0 && len(pickOver) == 0 && l.ingestOn() {
		p.Move = true
	}
	return p
}

// newPlan returns a plan of the non-empty inputs.
func newPlan(reason string, out int, ins ...iface.CompactionInput) *iface.CompactionPlan {
	p := &iface.CompactionPlan{OutputLevel: out, Reason: reason}
	for _, in := range ins {
		if len(in.Tables) > 0 {
			p.Inputs = append(p.Inputs, in)
		}
	}
	return p
}

func input(lvl int, ts []iface.TableMeta) iface.CompactionInput {
	in := iface.CompactionInput{Level: lvl, Tables: make([]uint64, len(ts))}
	for i, t := range ts {
		in.Tables[i] = t.ID
	}
	return in
}

func level(s *iface.LevelsSnapshot, lvl int) []iface.TableMeta {
	if lvl < len(s.Levels) {
		return s.Levels[lvl]
	}
	return nil
}

func levelBytes(ts []iface.TableMeta) int64 {
	var n int64
	for _, t := range ts {
		n += t.Size
	}
	return n
}

func anyBusy(s *iface.LevelsSnapshot, ts []iface.TableMeta) bool {
	for _, t := range ts {
		if s.Busy[t.ID] {
			return true
		}
	}
	return false
}

// userRange returns the smallest and largest user keys of ts (non-empty).
func userRange(ts []iface.TableMeta) (lo, hi []byte) {
	for i, t := range ts {
		if s := iface.UserKey(t.Smallest); i == 0 || bytes.Compare(s, lo) < 0 {
			lo = s
		}
		if h := iface.UserKey(t.Largest); i == 0 || bytes.Compare(h, hi) > 0 {
			hi = h
		}
	}
	return lo, hi
}

// overlapping returns the tables of ts whose user-key range meets [lo, hi].
// Comparing user keys (not internal keys) keeps every version of a user key
// in one compaction.
func overlapping(ts []iface.TableMeta, lo, hi []byte) []iface.TableMeta {
	var out []iface.TableMeta
	for _, t := range ts {
		if bytes.Compare(iface.UserKey(t.Largest), lo) < 0 || bytes.Compare(iface.UserKey(t.Smallest), hi) > 0 {
			continue
		}
		out = append(out, t)
	}
	return out
}
