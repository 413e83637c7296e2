package tiered

import (
	"bytes"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// drainBuffers handles ingest buffers, which tiered never fills but may find
// in a store written with leveled (docs/compaction.md). While any level's
// buffer holds a table, the sorted runs are not what Runs describes, so the
// only plans are drains: all of the shallowest drainable level's buffer
// tables, with the main-run tables their combined range meets, merged into
// that level's main run. A level whose buffer or overlapping main-run tables
// are busy is skipped. It returns false when no buffer holds a table.
func (t *Tiered) drainBuffers(s *iface.LevelsSnapshot) (*iface.CompactionPlan, bool) {
	found := false
	for lvl := 1; lvl < len(s.Ingest) && lvl < len(s.Levels) && lvl < t.opts.NumLevels; lvl++ {
		var (
			ins []iface.CompactionInput
			all []iface.TableMeta
		)
		for sh, ts := range s.Ingest[lvl] {
			if len(ts) == 0 {
				continue
			}
			in := iface.CompactionInput{Level: lvl, Ingest: true, Shard: sh}
			for _, tb := range ts {
				in.Tables = append(in.Tables, tb.ID)
			}
			ins, all = append(ins, in), append(all, ts...)
		}
		if len(all) == 0 {
			continue
		}
		found = true
		lo, hi := all[0].Smallest, all[0].Largest
		for _, tb := range all {
			lo, hi = minKey(lo, tb.Smallest), maxKey(hi, tb.Largest)
		}
		main := iface.CompactionInput{Level: lvl}
		for _, tb := range s.Levels[lvl] {
			if bytes.Compare(iface.UserKey(tb.Largest), iface.UserKey(lo)) >= 0 && bytes.Compare(iface.UserKey(tb.Smallest), iface.UserKey(hi)) <= 0 {
				main.Tables = append(main.Tables, tb.ID)
				all = append(all, tb)
			}
		}
		if busy(s, all) {
			continue
		}
		if len(main.Tables) > 0 {
			ins = append(ins, main)
		}
		return &iface.CompactionPlan{Inputs: ins, OutputLevel: lvl, Score: 1,
			Reason: fmt.Sprintf("drain: L%d ingest buffer left by another policy", lvl)}, true
	}
	return nil, found
}

func busy(s *iface.LevelsSnapshot, ts []iface.TableMeta) bool {
	for _, tb := range ts {
		if s.Busy[tb.ID] {
			return true
		}
	}
	return false
}

func minKey(a, b []byte) []byte {
	if bytes.Compare(iface.UserKey(b), iface.UserKey(a)) < 0 {
		return b
	}
	return a
}

func maxKey(a, b []byte) []byte {
	if bytes.Compare(iface.UserKey(b), iface.UserKey(a)) > 0 {
		return b
	}
	return a
}
