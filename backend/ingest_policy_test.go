package backend_test

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/compaction/tiered"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// bufferingPolicy wraps a policy that knows nothing of ingest buffers and
// routes its L0 work through one: an inner plan that takes only L0 tables
// becomes a metadata-only move of those tables into shard 1 of the output
// level's buffer; a shard whose tables overlap is merged inside itself; a
// buffer of drainTables or more tables, or one that an inner plan would write
// past, is drained into the main run under it. So every engine path of the
// buffer (moves, merges whose inputs and outputs are buffer tables,
// tombstones kept above a main run, drains) runs under the metamorphic test
// with every component combination, background compactions included. The
// inner policy is shown the tree without the buffer. The wrapper keeps the
// read-path invariant: moved tables are the oldest of L0 and newer
// than the buffer, a merge inside takes a whole (single) shard, a drain
// takes the whole buffer with every main-run table its range meets, and no
// inner plan moves data from above a non-empty buffer to below it.
type bufferingPolicy struct {
	inner iface.CompactionPolicy
	// plans counts the buffer plans made, by kind ("move", "merge",
	// "drain"), so tests can tell the buffer was used.
	mu    sync.Mutex
	plans map[string]int
}

func (p *bufferingPolicy) count(kind string, plan *iface.CompactionPlan) *iface.CompactionPlan {
	if plan != nil {
		p.mu.Lock()
		if p.plans == nil {
			p.plans = map[string]int{}
		}
		p.plans[kind]++
		p.mu.Unlock()
	}
	return plan
}

// bufferShard is the shard moves fill; drainTables is the buffer size, in
// tables, that triggers a drain.
const (
	bufferShard = 1
	drainTables = 4
)

func (p *bufferingPolicy) Name() string   { return p.inner.Name() + "+buffer" }
func (p *bufferingPolicy) NumLevels() int { return p.inner.NumLevels() }

func (p *bufferingPolicy) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	buffered := func(l int) []iface.TableMeta {
		if l >= len(s.Ingest) {
			return nil
		}
		var ts []iface.TableMeta
		for _, shard := range s.Ingest[l] {
			ts = append(ts, shard...)
		}
		return ts
	}
	for l := range s.Ingest {
		if bufferShard < len(s.Ingest[l]) && overlapping(s.Ingest[l][bufferShard]) && len(buffered(l)) < drainTables {
			return p.count("merge", p.mergeInside(s, l))
		}
		if len(buffered(l)) >= drainTables {
			return p.count("drain", p.drain(s, l))
		}
	}
	// The inner policy does not see the buffer (it would drain it at once):
	// the guard below keeps its plans from passing it.
	plan := p.inner.Pick(&iface.LevelsSnapshot{Levels: s.Levels, Busy: s.Busy})
	if plan == nil {
		// Settle: a store the inner policy is done with holds no buffer.
		for l := range s.Ingest {
			if len(buffered(l)) > 0 {
				return p.count("drain", p.drain(s, l))
			}
		}
		return nil
	}
	// An L0 plan (L0 tables, perhaps with main-run tables of the output
	// level) becomes a move of its L0 tables into the buffer.
	l0Only := !plan.OutputIngest && plan.OutputLevel > 0
	var l0 []uint64
	shallowest := plan.OutputLevel
	for _, in := range plan.Inputs {
		switch {
		case in.Level == 0 && !in.Ingest:
			l0 = append(l0, in.Tables...)
		case in.Level != plan.OutputLevel || in.Ingest:
			l0Only = false
		}
		shallowest = min(shallowest, in.Level)
	}
	l0Only = l0Only && len(l0) > 0
	// A buffer between the plan's inputs and its output (at the output
	// level itself for a merge into its main run) must drain first.
	for l := shallowest + 1; l <= plan.OutputLevel; l++ {
		if len(buffered(l)) > 0 && (l < plan.OutputLevel || !l0Only) {
			return p.count("drain", p.drain(s, l))
		}
	}
	if !l0Only {
		return plan
	}
	return p.count("move", &iface.CompactionPlan{
		Inputs:       []iface.CompactionInput{{Level: 0, Tables: l0}},
		OutputLevel:  plan.OutputLevel,
		OutputIngest: true,
		OutputShard:  bufferShard,
		Move:         true,
		Reason:       "test: move L0 into the buffer",
		Score:        plan.Score,
	})
}

// overlapping reports whether some two of ts overlap (a shard that is not
// yet one sorted run; merging one that is would only rewrite it).
func overlapping(ts []iface.TableMeta) bool {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b iface.TableMeta) int { return iface.Compare(a.Smallest, b.Smallest) })
	for i := 1; i < len(ts); i++ {
		if bytes.Compare(iface.UserKey(ts[i-1].Largest), iface.UserKey(ts[i].Smallest)) >= 0 {
			return true
		}
	}
	return false
}

func (p *bufferingPolicy) mergeInside(s *iface.LevelsSnapshot, l int) *iface.CompactionPlan {
	in := iface.CompactionInput{Level: l, Ingest: true, Shard: bufferShard}
	for _, t := range s.Ingest[l][bufferShard] {
		if s.Busy[t.ID] {
			return nil
		}
		in.Tables = append(in.Tables, t.ID)
	}
	return &iface.CompactionPlan{Inputs: []iface.CompactionInput{in}, OutputLevel: l, OutputIngest: true,
		OutputShard: bufferShard, Reason: "test: merge inside a shard", Score: 1}
}

func (p *bufferingPolicy) drain(s *iface.LevelsSnapshot, l int) *iface.CompactionPlan {
	plan := &iface.CompactionPlan{OutputLevel: l, Reason: "test: drain the buffer", Score: 1}
	var lo, hi []byte
	for sh, shard := range s.Ingest[l] {
		in := iface.CompactionInput{Level: l, Ingest: true, Shard: sh}
		for _, t := range shard {
			if s.Busy[t.ID] {
				return nil
			}
			in.Tables = append(in.Tables, t.ID)
			if lo == nil || bytes.Compare(iface.UserKey(t.Smallest), lo) < 0 {
				lo = iface.UserKey(t.Smallest)
			}
			if hi == nil || bytes.Compare(iface.UserKey(t.Largest), hi) > 0 {
				hi = iface.UserKey(t.Largest)
			}
		}
		if len(in.Tables) > 0 {
			plan.Inputs = append(plan.Inputs, in)
		}
	}
	main := iface.CompactionInput{Level: l}
	if l < len(s.Levels) {
		for _, t := range s.Levels[l] {
			if bytes.Compare(iface.UserKey(t.Largest), lo) < 0 || bytes.Compare(iface.UserKey(t.Smallest), hi) > 0 {
				continue
			}
			if s.Busy[t.ID] {
				return nil
			}
			main.Tables = append(main.Tables, t.ID)
		}
	}
	if len(main.Tables) > 0 {
		plan.Inputs = append(plan.Inputs, main)
	}
	return plan
}

// TestBufferingPolicyUsesTheBuffer makes sure the metamorphic variant that
// runs bufferingPolicy really moves, merges inside and drains, with both
// built-in policies inside it, and that the store reads back right.
func TestBufferingPolicyUsesTheBuffer(t *testing.T) {
	for _, inner := range []iface.CompactionPolicy{
		leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4, DisableIngest: true}),
		tiered.New(tiered.Options{MinMergeWidth: 2}),
	} {
		t.Run(inner.Name(), func(t *testing.T) {
			p := &bufferingPolicy{inner: inner}
			o := smallOptions(vfs.NewMem())
			o.CompactionPolicy = p
			o.TargetTableSize = 4 << 10
			o.DisableBackgroundWork = true // the plans below do not depend on timing
			db := openTest(t, "/db", o)
			m := model{}
			for round := range 30 {
				for i := range 300 {
					k := string(key((i*7919 + round*104729) % 3000))
					if i%11 == 0 {
						must(t, db.Delete([]byte(k), nil))
						delete(m, k)
						continue
					}
					v := fmt.Sprintf("r%d-%d", round, i)
					must(t, db.Set([]byte(k), []byte(v), nil))
					m[k] = v
				}
				must(t, db.Flush())
				if round%3 == 2 {
					must(t, db.Compact())
				}
			}
			must(t, db.Flush())
			must(t, db.Compact())
			p.mu.Lock()
			plans := maps.Clone(p.plans)
			p.mu.Unlock()
			if plans["move"] == 0 || plans["merge"] == 0 || plans["drain"] == 0 {
				t.Errorf("buffer plans made: %v; want moves, merges inside and drains", plans)
			}
			for k, v := range m {
				expectGet(t, db, k, v)
			}
			if got := scan(t, db, nil, false); len(got) != len(m) {
				t.Errorf("scan found %d keys, the model holds %d", len(got), len(m))
			}
		})
	}
}
