package tiered

import (
	"fmt"

	"github.com/nokv/nokv/iface"
)

// Run is one sorted run: an L0 table, or a whole level below L0.
type Run struct {
	Level  int // 0 for an L0 table
	Tables []iface.TableMeta
	Bytes  int64
	Busy   bool // some table of the run is being compacted
}

// Runs returns the sorted runs of s, newest first: the L0 tables in their
// order, then the non-empty levels 1..numLevels-1 from the top down.
func Runs(s *iface.LevelsSnapshot, numLevels int) []Run {
	var runs []Run
	add := func(lvl int, ts []iface.TableMeta) {
		r := Run{Level: lvl, Tables: ts}
		for _, t := range ts {
			r.Bytes += t.Size
			r.Busy = r.Busy || s.Busy[t.ID]
		}
		runs = append(runs, r)
	}
	for lvl := 0; lvl < len(s.Levels) && lvl < numLevels; lvl++ {
		ts := s.Levels[lvl]
		if lvl == 0 {
			for i := range ts {
				add(0, ts[i:i+1])
			}
		} else if len(ts) > 0 {
			add(lvl, ts)
		}
	}
	return runs
}

// spaceAmp is rule (a): when the runs other than the oldest hold more than
// MaxSpaceAmplificationPercent of the oldest run's bytes, merge every run
// into the last level. Needs at least two runs and none busy.
func (t *Tiered) spaceAmp(runs []Run) *iface.CompactionPlan {
	n := len(runs)
	if n < 2 {
		return nil
	}
	var newer int64
	for _, r := range runs {
		if r.Busy {
			return nil
		}
	}
	for _, r := range runs[:n-1] {
		newer += r.Bytes
	}
	oldest := runs[n-1].Bytes
	if newer*100 <= int64(t.opts.MaxSpaceAmplificationPercent)*oldest {
		return nil
	}
	amp := float64(newer) * 100 / float64(max(oldest, 1))
	reason := fmt.Sprintf("space amplification %.0f%% > %d%%: %d runs into the last level", amp, t.opts.MaxSpaceAmplificationPercent, n)
	return t.plan(runs, 0, n-1, reason, amp/float64(t.opts.MaxSpaceAmplificationPercent))
}

// sizeRatioMerge is rule (b). For each start run, newest first and skipping
// busy runs, a window grows over the next older run while that run is not
// busy, the window is narrower than MaxMergeWidth, and the run's bytes are at
// most (100+SizeRatio)% of the window's bytes so far. The first window of at
// least MinMergeWidth runs that has a legal output level is merged.
func (t *Tiered) sizeRatioMerge(runs []Run) *iface.CompactionPlan {
	ratio, width := 100+t.sizeRatio(), t.maxMergeWidth()
	for i := range runs {
		if runs[i].Busy {
			continue
		}
		j, sum := i, runs[i].Bytes
		for j+1 < len(runs) && j+1-i < width && !runs[j+1].Busy && runs[j+1].Bytes*100 <= ratio*sum {
			j++
			sum += runs[j].Bytes
		}
		if j-i+1 < t.opts.MinMergeWidth {
			continue
		}
		reason := fmt.Sprintf("size ratio: runs %d..%d, each at most %d%% of the newer ones in the window", i, j, ratio)
		if p := t.plan(runs, i, j, reason, float64(len(runs))/float64(t.opts.MaxRuns)); p != nil {
			return p
		}
	}
	return nil
}

// reduceRuns is rule (c): with more than MaxRuns runs, merge the newest
// len(runs)-MaxRuns+1 of them, which brings the count to MaxRuns or fewer.
func (t *Tiered) reduceRuns(runs []Run) *iface.CompactionPlan {
	n := len(runs)
	if n <= t.opts.MaxRuns {
		return nil
	}
	reason := fmt.Sprintf("%d runs > MaxRuns %d", n, t.opts.MaxRuns)
	return t.plan(runs, 0, n-t.opts.MaxRuns, reason, float64(n)/float64(t.opts.MaxRuns))
}

// plan merges runs[i..j], widened by outputLevel, or returns nil when the
// widening meets a busy run.
func (t *Tiered) plan(runs []Run, i, j int, reason string, score float64) *iface.CompactionPlan {
	for k := i; k <= j; k++ {
		if runs[k].Busy {
			return nil
		}
	}
	end, out, ok := t.outputLevel(runs, j)
	if !ok {
		return nil
	}
	if end > j {
		reason += fmt.Sprintf("; widened to runs %d..%d for a legal output level", i, end)
	}
	j = end
	p := &iface.CompactionPlan{OutputLevel: out, Reason: reason, Score: score}
	for k := i; k <= j; k++ {
		r := runs[k]
		if r.Level == 0 && len(p.Inputs) > 0 && p.Inputs[len(p.Inputs)-1].Level == 0 {
			p.Inputs[len(p.Inputs)-1].Tables = append(p.Inputs[len(p.Inputs)-1].Tables, r.Tables[0].ID)
			continue
		}
		in := iface.CompactionInput{Level: r.Level}
		for _, tb := range r.Tables {
			in.Tables = append(in.Tables, tb.ID)
		}
		p.Inputs = append(p.Inputs, in)
	}
	return p
}

// outputLevel decides where a window of runs ending at runs[j] (its oldest
// run) writes, widening the window over older runs until the choice is legal.
// It returns the new end of the window, the output level, and false if the
// widening meets a busy run.
//
// The rule, with D the level of runs[j] (0 for an L0 table):
//   - the window holds the oldest run: output to the last level, NumLevels-1
//     (every level below D is empty);
//   - else, with N the level of the next older run runs[j+1]: output to N-1,
//     the deepest level above it, if N-1 >= 1 and N-1 >= D. Levels D+1..N-1
//     hold no run, and D itself is emptied by the merge, so the output lands
//     below every newer run and above every older one;
//   - else (N-1 would be L0: the next older run is an L0 table or L1) the
//     window takes runs[j+1] too and the rule is applied again.
//
// Compaction outputs never go to L0: the engine orders L0 by file number, so
// a merged table there would read as newer than tables flushed while it was
// written.
func (t *Tiered) outputLevel(runs []Run, j int) (int, int, bool) {
	for {
		if runs[j].Busy {
			return 0, 0, false
		}
		if j == len(runs)-1 {
			return j, t.opts.NumLevels - 1, true
		}
		if n := runs[j+1].Level; n-1 >= max(1, runs[j].Level) {
			return j, n - 1, true
		}
		j++
	}
}
