package compactiontest

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/nokv/nokv/iface"
)

// Properties configures RunProperties for one policy.
type Properties struct {
	// New draws a policy (its options may be drawn too).
	New func(t *rapid.T) iface.CompactionPolicy
	// Settled, if set, checks a snapshot without busy tables for which the
	// policy planned nothing: the shape must then be within the policy's
	// bounds.
	Settled func(p iface.CompactionPolicy, s *iface.LevelsSnapshot) error
}

// RunProperties checks a policy over random trees (Gen) and random
// histories. Each history draws steps among: a flush (a new L0 table);
// a pick with random tables busy, applied at once; and two or three
// overlapping compactions, each picked while the tables of the ones before
// are busy, applied in a random order, as concurrent compactions finish
// (moves into ingest buffers, drains and merges inside buffers among them).
// Every plan must pass ValidatePlan against the snapshot it was
// picked from, and the model must keep the invariant key range by key range
// after every applied plan (Model.Check). Finally the tree is compacted
// until the policy plans nothing, which must happen within a bounded number
// of plans, and Settled is called. Histories are shorter with -short.
func RunProperties(t *testing.T, cfg Properties) {
	maxSteps := 50
	if testing.Short() {
		maxSteps = 15
	}
	rapid.Check(t, func(t *rapid.T) {
		pol := cfg.New(t)
		n := pol.NumLevels()
		target := int64(1) << rapid.IntRange(16, 30).Draw(t, "target table size shift")
		m := Gen(t, n, target)
		if err := m.Check(); err != nil {
			t.Fatalf("generated tree: %v", err)
		}
		// A policy that offers moves on their own (iface.MovePicker) has
		// them picked too, beside its other plans, as the engine's move
		// worker does.
		mp, _ := pol.(iface.MovePicker)
		pickWith := func(busy map[uint64]bool, move bool) *iface.CompactionPlan {
			s := m.Snapshot(busy)
			var p *iface.CompactionPlan
			if move {
				if p = mp.PickMove(s); p != nil && !p.Move {
					t.Fatalf("%s: PickMove planned a rewrite: %s", pol.Name(), FormatPlan(p))
				}
			} else {
				p = pol.Pick(s)
			}
			if err := ValidatePlan(s, n, p); err != nil {
				t.Fatalf("%s planned %s\nover %s: %v", pol.Name(), FormatPlan(p), m, err)
			}
			return p
		}
		pick := func(busy map[uint64]bool) *iface.CompactionPlan {
			move := mp != nil && rapid.IntRange(0, 3).Draw(t, "pick a move") == 0
			return pickWith(busy, move)
		}
		apply := func(p *iface.CompactionPlan) {
			before := m.clone()
			if err := m.Apply(p); err != nil {
				t.Fatalf("%s: applying %s\nto %s: %v", pol.Name(), FormatPlan(p), before, err)
			}
		}
		for range rapid.IntRange(0, maxSteps).Draw(t, "steps") {
			switch rapid.IntRange(0, 3).Draw(t, "step") {
			case 0, 3:
				m.Flush(t)
			case 1:
				busy := map[uint64]bool{}
				for _, id := range m.Tables() {
					if rapid.IntRange(0, 9).Draw(t, "busy") == 0 {
						busy[id] = true
					}
				}
				if p := pick(busy); p != nil {
					apply(p)
				}
			case 2:
				busy := map[uint64]bool{}
				var plans []*iface.CompactionPlan
				for range rapid.IntRange(2, 3).Draw(t, "concurrent plans") {
					p := pick(busy)
					if p == nil {
						break
					}
					plans = append(plans, p)
					for _, in := range p.Inputs {
						for _, id := range in.Tables {
							busy[id] = true
						}
					}
				}
				for _, i := range rapid.Permutation(seq(len(plans))).Draw(t, "finish order") {
					apply(plans[i])
				}
			}
		}
		for i := 0; ; i++ {
			if i == 10000 {
				t.Fatalf("%s still plans compactions after %d plans: %s", pol.Name(), i, m)
			}
			p := pickWith(nil, false)
			if p == nil {
				break
			}
			apply(p)
		}
		if cfg.Settled != nil {
			if err := cfg.Settled(pol, m.Snapshot(nil)); err != nil {
				t.Fatalf("%s settled out of bounds: %v\n%s", pol.Name(), err, m)
			}
		}
	})
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// String prints the tree one level (or ingest shard) a line, tables as
// id:size:[lo,hi], with :seq=N where Seq is set.
func (m *Model) String() string {
	b := []byte("\n")
	line := func(name string, ts []*Table) {
		if len(ts) == 0 {
			return
		}
		b = append(b, name...)
		for _, t := range ts {
			b = fmt.Appendf(b, " %d:%d:[%d,%d]", t.ID, t.Size, t.Lo, t.Hi)
			if t.Seq != 0 {
				b = fmt.Appendf(b, ":seq=%d", t.Seq)
			}
		}
		b = append(b, '\n')
	}
	for lvl, ts := range m.Levels {
		if lvl < len(m.Ingest) {
			for sh, ts := range m.Ingest[lvl] {
				line(place(lvl, true, sh), ts)
			}
		}
		line(fmt.Sprintf("L%d", lvl), ts)
	}
	return string(slices.Clip(b))
}
