package tiered

import "github.com/nokv/nokv/iface"

// PendingBytes estimates the bytes compactions still have to rewrite to
// bring s within bounds, for graded write throttling: the bytes the plan
// Pick would make if no table were busy would read (0 if none). It grows
// with the backlog of runs a merge has to take.
func (t *Tiered) PendingBytes(s *iface.LevelsSnapshot) int64 {
	idle := *s
	idle.Busy = nil
	p := t.Pick(&idle)
	if p == nil {
		return 0
	}
	size := map[uint64]int64{}
	for _, ts := range s.Levels {
		for _, tb := range ts {
			size[tb.ID] = tb.Size
		}
	}
	for _, shards := range s.Ingest {
		for _, ts := range shards {
			for _, tb := range ts {
				size[tb.ID] = tb.Size
			}
		}
	}
	var n int64
	for _, in := range p.Inputs {
		for _, id := range in.Tables {
			n += size[id]
		}
	}
	return n
}
