// Package leveled is NoKV's default compaction policy: classic leveled
// compaction. L0 holds overlapping tables straight from flushes; every deeper
// level holds non-overlapping tables and is allowed ten times the bytes of the
// level above it.
//
// The policy is a pure function of a metadata snapshot: Pick scores every
// level (L0 by table count over its trigger, deeper levels by bytes over their
// target), takes the most urgent level with a score of at least 1 and returns
// a plan. From L0 it takes every L0 table plus the overlapping tables of L1,
// so that no newer version stays above an older one. From a deeper level it
// takes the one table whose overlap with the next level is smallest relative
// to its own size (least rewriting per byte moved down), plus that overlap.
//
// (The L0 ingest buffer, dynamic level sizes and several compactions at once
// arrive with the compaction plug-point work.)
package leveled

import (
	"bytes"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// Options shape the tree. Zero fields take defaults.
type Options struct {
	// NumLevels is the number of levels, L0 included; default 7.
	NumLevels int
	// L0Trigger is the number of L0 tables that triggers an L0 compaction;
	// default 4.
	L0Trigger int
	// BaseLevelSize is the target size of L1 in bytes; default 64 MiB.
	BaseLevelSize int64
	// LevelMultiplier is the size ratio between adjacent levels; default 10.
	LevelMultiplier int
}

// Leveled is the leveled compaction policy.
type Leveled struct {
	opts Options
}

var _ iface.CompactionPolicy = (*Leveled)(nil)

// New returns a leveled policy.
func New(o Options) *Leveled {
	if o.NumLevels <= 0 {
		o.NumLevels = 7
	}
	if o.L0Trigger <= 0 {
		o.L0Trigger = 4
	}
	if o.BaseLevelSize <= 0 {
		o.BaseLevelSize = 64 << 20
	}
	if o.LevelMultiplier <= 1 {
		o.LevelMultiplier = 10
	}
	return &Leveled{opts: o}
}

// Name returns "leveled".
func (l *Leveled) Name() string { return "leveled" }

// NumLevels returns the number of levels the policy shapes.
func (l *Leveled) NumLevels() int { return l.opts.NumLevels }

// TargetSize returns the byte target of level (level >= 1).
func (l *Leveled) TargetSize(level int) int64 {
	t := l.opts.BaseLevelSize
	for i := 1; i < level; i++ {
		t *= int64(l.opts.LevelMultiplier)
	}
	return t
}

// Pick returns the most urgent compaction, or nil.
func (l *Leveled) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	best, bestScore := -1, 1.0
	for lvl := 0; lvl < len(s.Levels) && lvl < l.opts.NumLevels-1; lvl++ {
		var score float64
		if lvl == 0 {
			score = float64(len(s.Levels[0])) / float64(l.opts.L0Trigger)
		} else {
			score = float64(levelBytes(s.Levels[lvl])) / float64(l.TargetSize(lvl))
		}
		if score >= bestScore {
			if plan := l.planFor(s, lvl); plan != nil {
				best, bestScore = lvl, score
			}
		}
	}
	if best < 0 {
		return nil
	}
	plan := l.planFor(s, best)
	plan.Score = bestScore
	return plan
}

func (l *Leveled) planFor(s *iface.LevelsSnapshot, lvl int) *iface.CompactionPlan {
	next := level(s, lvl+1)
	if lvl == 0 {
		if len(s.Levels[0]) == 0 || anyBusy(s, s.Levels[0]) {
			return nil
		}
		lo, hi := keyRange(s.Levels[0])
		over := overlapping(next, lo, hi)
		if anyBusy(s, over) {
			return nil
		}
		return &iface.CompactionPlan{
			Inputs:      []iface.CompactionInput{{Level: 0, Tables: ids(s.Levels[0])}, {Level: 1, Tables: ids(over)}},
			OutputLevel: 1,
			Reason:      fmt.Sprintf("L0 has %d tables (trigger %d)", len(s.Levels[0]), l.opts.L0Trigger),
		}
	}
	var (
		pick     *iface.TableMeta
		pickOver []iface.TableMeta
		pickCost float64
	)
	for i := range s.Levels[lvl] {
		t := &s.Levels[lvl][i]
		if s.Busy[t.ID] {
			continue
		}
		over := overlapping(next, t.Smallest, t.Largest)
		if anyBusy(s, over) {
			continue
		}
		cost := float64(levelBytes(over)) / float64(max(t.Size, 1))
		if pick == nil || cost < pickCost {
			pick, pickOver, pickCost = t, over, cost
		}
	}
	if pick == nil {
		return nil
	}
	return &iface.CompactionPlan{
		Inputs:      []iface.CompactionInput{{Level: lvl, Tables: []uint64{pick.ID}}, {Level: lvl + 1, Tables: ids(pickOver)}},
		OutputLevel: lvl + 1,
		Reason:      fmt.Sprintf("L%d holds %d bytes (target %d)", lvl, levelBytes(s.Levels[lvl]), l.TargetSize(lvl)),
	}
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

func ids(ts []iface.TableMeta) []uint64 {
	out := make([]uint64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func anyBusy(s *iface.LevelsSnapshot, ts []iface.TableMeta) bool {
	for _, t := range ts {
		if s.Busy[t.ID] {
			return true
		}
	}
	return false
}

// keyRange returns the smallest and largest internal keys of ts.
func keyRange(ts []iface.TableMeta) (lo, hi []byte) {
	for i, t := range ts {
		if i == 0 || iface.Compare(t.Smallest, lo) < 0 {
			lo = t.Smallest
		}
		if i == 0 || iface.Compare(t.Largest, hi) > 0 {
			hi = t.Largest
		}
	}
	return lo, hi
}

// overlapping returns the tables of ts whose user-key range meets the user
// keys of the internal keys lo and hi.
// Comparing user keys (not internal keys) keeps every version of a user key
// in one compaction.
func overlapping(ts []iface.TableMeta, lo, hi []byte) []iface.TableMeta {
	lo, hi = iface.UserKey(lo), iface.UserKey(hi)
	var out []iface.TableMeta
	for _, t := range ts {
		if bytes.Compare(iface.UserKey(t.Largest), lo) < 0 || bytes.Compare(iface.UserKey(t.Smallest), hi) > 0 {
			continue
		}
		out = append(out, t)
	}
	return out
}
