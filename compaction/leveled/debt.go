package leveled

import "github.com/nokv/nokv/iface"

// PendingBytes estimates the bytes compactions still have to rewrite to
// bring s within bounds, for graded write throttling (RocksDB's estimate of
// pending compaction bytes). When L0 is at a trigger it counts all of L0 and
// the base level; then, from the base level down, the bytes each level
// holds over its target, its own plus what the level above pushes into it,
// times one plus the ratio of the next level's bytes to its own (the
// overlap each byte pushed down rewrites; nothing when the next level is
// empty, where tables move down without a rewrite). Busy tables count: they
// are debt being paid, not paid yet.
func (l *Leveled) PendingBytes(s *iface.LevelsSnapshot) int64 {
	sh := l.Shape(s)
	l0 := level(s, 0)
	var debt, push float64
	if len(l0) >= l.opts.L0Trigger || levelBytes(l0) >= l.opts.L0TriggerBytes {
		push = float64(levelBytes(l0))
		debt = push + float64(levelBytes(level(s, sh.Base)))
	}
	for lvl := sh.Base; lvl < l.opts.NumLevels-1; lvl++ {
		size := float64(levelBytes(level(s, lvl))) + push
		push = 0
		if over := size - float64(sh.Targets[lvl]); over > 0 {
			push = over
			if next := float64(levelBytes(level(s, lvl+1))); next > 0 {
				debt += over * (1 + next/size)
			}
		}
	}
	return int64(debt)
}
