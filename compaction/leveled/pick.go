package leveled

import (
	"bytes"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// planL0 plans an L0 compaction into the base level: the oldest L0 tables,
// at most L0MaxInputs of them, and every base-level table that overlaps
// their combined user-key range.
//
// Taking a suffix of L0 (all tables older than any one taken) keeps the
// read-path order: every table left in L0 is newer than everything the
// compaction moves down. Using the combined range, not each table's, keeps
// the base level one sorted run whatever the gaps between the L0 tables.
//
// No plan is made while any L0 table is busy: the snapshot names busy
// tables but not the key ranges in-flight compactions will write, and a
// second L0 compaction whose range falls in a gap of the first one's could
// write base-level tables that overlap its outputs.
func (l *Leveled) planL0(s *iface.LevelsSnapshot, sh Shape) *iface.CompactionPlan {
	l0 := level(s, 0)
	if len(l0) == 0 || anyBusy(s, l0) {
		return nil
	}
	take := l0[len(l0)-min(len(l0), l.opts.L0MaxInputs):]
	lo, hi := userRange(take)
	over := overlapping(level(s, sh.Base), lo, hi)
	if anyBusy(s, over) {
		return nil
	}
	reason := fmt.Sprintf("L0 holds %d tables, %d bytes (triggers: %d tables, %d bytes)",
		len(l0), levelBytes(l0), l.opts.L0Trigger, l.opts.L0TriggerBytes)
	return newPlan(reason, sh.Base, input(0, take), input(sh.Base, over))
}

// planLevel plans a compaction of level lvl into lvl+1: the non-busy table
// whose overlapping bytes in lvl+1, per compensated byte of its own, are
// fewest (the least rewriting per byte moved down, and tombstone-heavy
// tables first), with those overlapping tables. Ties go to the table with
// the smallest keys. A table with no overlap moves down without a rewrite.
func (l *Leveled) planLevel(s *iface.LevelsSnapshot, sh Shape, lvl int) *iface.CompactionPlan {
	next := level(s, lvl+1)
	var (
		pick     []iface.TableMeta
		pickOver []iface.TableMeta
		pickCost float64
	)
	cur := level(s, lvl)
	for i := range cur {
		t := cur[i]
		if s.Busy[t.ID] {
			continue
		}
		over := overlapping(next, iface.UserKey(t.Smallest), iface.UserKey(t.Largest))
		if anyBusy(s, over) {
			continue
		}
		cost := float64(levelBytes(over)) / float64(max(compensated(t), 1))
		if pick == nil || cost < pickCost {
			pick, pickOver, pickCost = cur[i:i+1], over, cost
		}
	}
	if pick == nil {
		return nil
	}
	reason := fmt.Sprintf("L%d over its target of %d bytes (%d bytes in %d tables)", lvl, sh.Targets[lvl], levelBytes(cur), len(cur))
	return newPlan(reason, lvl+1, input(lvl, pick), input(lvl+1, pickOver))
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
