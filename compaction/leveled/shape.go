package leveled

import (
	"sort"

	"github.com/nokv/nokv/iface"
)

// Shape is the policy's reading of a snapshot: where L0 compacts to, what
// each level may hold and how far each is over.
type Shape struct {
	// Base is the level L0 compacts into. Levels 1..Base-1 are empty.
	Base int
	// Targets holds each level's byte target; 0 for L0 and for levels above
	// Base.
	Targets []int64
	// Scores holds each level's raw score. L0: the larger of (non-busy L0
	// tables / L0Trigger) and (their bytes / L0TriggerBytes). Level l >=
	// Base: compensated bytes of its non-busy tables / Targets[l]. Levels
	// above Base score 0. A level (other than the last) with a score of at
	// least 1 needs a compaction.
	Scores []float64
	// Priorities orders the levels that need a compaction: L0 keeps its
	// score; a deeper level's score is divided by the next level's score
	// when that is above 1, so a level that feeds an even more overfull one
	// waits for it to drain (fewer rewrites of the same bytes).
	Priorities []float64
	// IngestBytes and IngestRuns hold, per level, the bytes and the sorted
	// runs (distinct Seq) of the non-busy tables of its ingest buffer.
	// IngestBytes count in Scores.
	IngestBytes []int64
	IngestRuns  []int
	// DrainScores says, per level, how urgently its ingest buffer must be
	// drained into its main run; at least 1 means now. Base level, buffer
	// on: the larger of the buffer's compensated bytes / (IngestDrainShare
	// × its target) and IngestRuns / IngestDrainRuns. Any other buffer that
	// holds a table (a level that is no longer the base, or the buffer
	// turned off): at least 1, its compensated bytes over the level's
	// target.
	DrainScores []float64
}

// Shape computes the base level, targets, scores and priorities of s.
func (l *Leveled) Shape(s *iface.LevelsSnapshot) Shape {
	n, mult := l.opts.NumLevels, int64(l.opts.LevelMultiplier)
	last := n - 1
	sh := Shape{Targets: make([]int64, n), Scores: make([]float64, n), Priorities: make([]float64, n),
		IngestBytes: make([]int64, n), IngestRuns: make([]int, n), DrainScores: make([]float64, n)}

	// S is the size of the largest main run below L0 (normally the last
	// level's; the largest is used because deleting compactions can leave
	// the last level smaller than the one above for a while). Ingest
	// buffers do not count: their bytes are on their way into the main run,
	// and the drain trigger is a share of the target they would otherwise
	// inflate.
	var largest int64
	first := last // shallowest non-empty level below L0, buffers included
	for lvl := last; lvl >= 1; lvl-- {
		b := levelBytes(level(s, lvl))
		largest = max(largest, b)
		if b > 0 || levelBytes(buffer(s, lvl)) > 0 {
			first = lvl
		}
	}
	if l.opts.StaticLevels {
		sh.Base = 1
		t := l.opts.BaseLevelSize
		for lvl := 1; lvl <= last; lvl++ {
			sh.Targets[lvl] = t
			t = mulSat(t, mult)
		}
	} else {
		// The shallowest level whose ideal target S / mult^(last-lvl) is at
		// least BaseLevelSize (the last level if S itself is smaller) ...
		ideal, lvl := largest, last
		for lvl > 1 && ideal/mult >= l.opts.BaseLevelSize {
			ideal /= mult
			lvl--
		}
		// ... but never below data: L0 must not compact past a non-empty
		// level (main run or buffer), or newer data would land under older.
		sh.Base = min(lvl, first)
		t := largest
		for lvl := last; lvl >= sh.Base; lvl-- {
			sh.Targets[lvl] = max(t, l.opts.BaseLevelSize)
			t /= mult
		}
	}

	var l0Count int
	var l0Bytes int64
	for _, t := range level(s, 0) {
		if !s.Busy[t.ID] {
			l0Count++
			l0Bytes += t.Size
		}
	}
	sh.Scores[0] = max(float64(l0Count)/float64(l.opts.L0Trigger), float64(l0Bytes)/float64(l.opts.L0TriggerBytes))
	for lvl := sh.Base; lvl <= last; lvl++ {
		var b int64
		for _, t := range level(s, lvl) {
			if !s.Busy[t.ID] {
				b += compensated(t)
			}
		}
		var (
			idle []iface.TableMeta
			cb   int64 // compensated bytes of idle
		)
		for _, t := range buffer(s, lvl) {
			if !s.Busy[t.ID] {
				cb += compensated(t)
				idle = append(idle, t)
			}
		}
		b += cb
		sh.IngestBytes[lvl], sh.IngestRuns[lvl] = levelBytes(idle), runs(idle)
		sh.Scores[lvl] = float64(b) / float64(sh.Targets[lvl])
		// The drain score counts compensated bytes, as the level's score
		// does: a level over its target by its buffer alone (an empty main
		// run) must have a drain due, or nothing would bring it back.
		switch {
		case len(idle) == 0:
		case lvl == sh.Base && l.ingestOn():
			sh.DrainScores[lvl] = max(float64(cb)/float64(l.drainBytes(sh)),
				float64(sh.IngestRuns[lvl])/float64(l.opts.IngestDrainRuns))
		default:
			sh.DrainScores[lvl] = max(1, float64(cb)/float64(sh.Targets[lvl]))
		}
	}
	sh.Priorities[0] = sh.Scores[0]
	for lvl := sh.Base; lvl < last; lvl++ {
		sh.Priorities[lvl] = sh.Scores[lvl] / max(1, sh.Scores[lvl+1])
	}
	return sh
}

// drainBytes is the buffer size that triggers a drain of the base level's
// buffer: IngestDrainShare of its target.
func (l *Leveled) drainBytes(sh Shape) int64 {
	return max(1, int64(l.opts.IngestDrainShare*float64(sh.Targets[sh.Base])))
}

// candidates returns the levels that need a compaction, most urgent first;
// equal priorities go shallower first. The last level is never a source.
func (sh Shape) candidates() []int {
	var out []int
	for lvl := 0; lvl < len(sh.Scores)-1; lvl++ {
		if sh.Scores[lvl] >= 1 {
			out = append(out, lvl)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return sh.Priorities[out[i]] > sh.Priorities[out[j]] })
	return out
}

// compensated returns the size a table counts for in its level's score: its
// size, inflated by up to 2x by the share of its entries that are
// tombstones, so that levels holding many tombstones are pushed down sooner
// (which frees the space they shadow).
func compensated(t iface.TableMeta) int64 {
	if t.Entries == 0 || t.Deletions == 0 {
		return t.Size
	}
	d := min(t.Deletions, t.Entries)
	return t.Size + int64(float64(t.Size)*float64(d)/float64(t.Entries))
}

// mulSat multiplies without overflowing int64.
func mulSat(a, b int64) int64 {
	if a > (1<<63-1)/b {
		return 1<<63 - 1
	}
	return a * b
}
