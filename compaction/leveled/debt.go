package leveled

import "github.com/nokv/nokv/iface"

// PendingBytes estimates the bytes compactions still have to rewrite to
// bring s within bounds, for graded write throttling (RocksDB's estimate of
// pending compaction bytes). When L0 is at a trigger it counts all of L0 and
// the base level (main run and buffer: L0 is either compacted with them now
// or moved and drained into them later). A buffer due for a drain counts its
// bytes and its level's main run (once); a shard due for a merge inside
// counts its bytes. Then, from the base level down, it counts the bytes
// each level holds over its target (main run, buffer, and what the level
// above pushes into it) times one plus the ratio of the next level's bytes
// to its own (the overlap each byte pushed down rewrites; nothing when the
// next level is empty, where tables move down without a rewrite). Busy
// tables count: they are debt being paid, not paid yet. The estimate is 0
// exactly when nothing is due.
func (l *Leveled) PendingBytes(s *iface.LevelsSnapshot) int64 {
	sh := l.Shape(s)
	l0 := level(s, 0)
	size := func(lvl int) float64 { return float64(levelBytes(level(s, lvl)) + levelBytes(buffer(s, lvl))) }
	var debt, push float64
	counted := map[int]bool{}
	if len(l0) >= l.opts.L0Trigger || levelBytes(l0) >= l.opts.L0TriggerBytes {
		push = float64(levelBytes(l0))
		debt = push + size(sh.Base)
		counted[sh.Base] = true
	}
	for lvl := 1; lvl < len(sh.DrainScores); lvl++ {
		if sh.DrainScores[lvl] >= 1 && !counted[lvl] {
			debt += size(lvl)
			counted[lvl] = true
		}
	}
	if l.ingestOn() && !counted[sh.Base] {
		for _, ts := range shards(s, sh.Base) {
			if runs(ts) >= l.opts.IngestMergeRuns {
				debt += float64(levelBytes(ts))
			}
		}
	}
	for lvl := sh.Base; lvl < l.opts.NumLevels-1; lvl++ {
		sz := size(lvl) + push
		push = 0
		if over := sz - float64(sh.Targets[lvl]); over > 0 {
			push = over
			if next := size(lvl + 1); next > 0 {
				debt += over * (1 + next/sz)
			}
		}
	}
	return int64(debt)
}
