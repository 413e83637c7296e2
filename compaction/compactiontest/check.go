package compactiontest

import (
	"bytes"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// ValidatePlan checks a plan against the snapshot it was picked from, which
// must itself keep the read-path invariant (L0 newest first; each deeper level
// one sorted run; for every user key, a table read earlier holds newer data
// than one read later). A nil plan is valid. A plan must:
//
//   - have at least one input, each on a distinct level below numLevels, each
//     naming at least one table of that level, none busy, none twice, tables
//     of a level below L0 in key order;
//   - write to a level in 1..numLevels-1 (never L0: the engine orders L0 by
//     file number, so an output there would read as newer than tables flushed
//     while it was written), no shallower than any input;
//   - leave the invariant intact once its inputs are replaced by outputs
//     covering their combined key range at OutputLevel: no table left at
//     OutputLevel meets that range, every table left above OutputLevel that
//     overlaps an input was read before it (is newer), and every table left
//     below OutputLevel that overlaps an input was read after it (is older).
//
// Given a valid snapshot the last rule is exact: reading order and age
// agree wherever tables overlap, so an input and a remaining table keep
// their relative order for every key they share.
func ValidatePlan(s *iface.LevelsSnapshot, numLevels int, p *iface.CompactionPlan) error {
	if p == nil {
		return nil
	}
	if len(p.Inputs) == 0 {
		return fmt.Errorf("plan %+v has no inputs", p)
	}
	if p.OutputLevel < 1 || p.OutputLevel >= numLevels || p.OutputLevel >= len(s.Levels) {
		return fmt.Errorf("output level %d is outside 1..%d", p.OutputLevel, min(numLevels, len(s.Levels))-1)
	}
	type place struct{ level, idx, order int }
	where := map[uint64]place{}
	order := 0
	for lvl, ts := range s.Levels {
		for i, t := range ts {
			where[t.ID] = place{lvl, i, order}
			order++
		}
	}
	taken := map[uint64]bool{}
	var inputs []iface.TableMeta
	levels := map[int]bool{}
	for _, in := range p.Inputs {
		if in.Level < 0 || in.Level >= len(s.Levels) || in.Level >= numLevels {
			return fmt.Errorf("input level %d is out of range", in.Level)
		}
		if levels[in.Level] {
			return fmt.Errorf("input level %d listed twice", in.Level)
		}
		levels[in.Level] = true
		if len(in.Tables) == 0 {
			return fmt.Errorf("input L%d names no table", in.Level)
		}
		if in.Level > p.OutputLevel {
			return fmt.Errorf("input L%d is below the output level %d", in.Level, p.OutputLevel)
		}
		prev := -1
		for _, id := range in.Tables {
			w, ok := where[id]
			switch {
			case !ok || w.level != in.Level:
				return fmt.Errorf("table %d is not in L%d", id, in.Level)
			case s.Busy[id]:
				return fmt.Errorf("table %d is busy", id)
			case taken[id]:
				return fmt.Errorf("table %d named twice", id)
			case in.Level > 0 && w.idx < prev:
				return fmt.Errorf("L%d tables %v are not in key order", in.Level, in.Tables)
			}
			prev = w.idx
			taken[id] = true
			inputs = append(inputs, s.Levels[in.Level][w.idx])
		}
	}
	lo, hi := hull(inputs)
	for lvl, ts := range s.Levels {
		for _, r := range ts {
			if taken[r.ID] {
				continue
			}
			if lvl == p.OutputLevel {
				if meets(r, lo, hi) {
					return fmt.Errorf("L%d table %d meets the output range %q..%q", lvl, r.ID, lo, hi)
				}
				continue
			}
			for _, in := range inputs {
				if !meets(r, iface.UserKey(in.Smallest), iface.UserKey(in.Largest)) {
					continue
				}
				ro, io := where[r.ID].order, where[in.ID].order
				if lvl < p.OutputLevel && ro > io {
					return fmt.Errorf("L%d table %d stays above the output at L%d but is older than input %d it overlaps", lvl, r.ID, p.OutputLevel, in.ID)
				}
				if lvl > p.OutputLevel && ro < io {
					return fmt.Errorf("L%d table %d stays below the output at L%d but is newer than input %d it overlaps", lvl, r.ID, p.OutputLevel, in.ID)
				}
			}
		}
	}
	return nil
}

// hull returns the smallest and largest user keys of ts (non-empty).
func hull(ts []iface.TableMeta) (lo, hi []byte) {
	for i, t := range ts {
		if k := iface.UserKey(t.Smallest); i == 0 || bytes.Compare(k, lo) < 0 {
			lo = k
		}
		if k := iface.UserKey(t.Largest); i == 0 || bytes.Compare(k, hi) > 0 {
			hi = k
		}
	}
	return lo, hi
}

// meets reports whether t's user-key range meets [lo, hi].
func meets(t iface.TableMeta, lo, hi []byte) bool {
	return bytes.Compare(iface.UserKey(t.Largest), lo) >= 0 && bytes.Compare(iface.UserKey(t.Smallest), hi) <= 0
}
