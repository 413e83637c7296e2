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
// a pick with random tables busy, applied at once; and two overlapping
// compactions, where the second is picked while the first one's tables are
// busy and the two are applied in a random order, as concurrent compactions
// finish. Every plan must pass ValidatePlan against the snapshot it was
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
		pick := func(busy map[uint64]bool) *iface.CompactionPlan {
			s := m.Snapshot(busy)
			p := pol.Pick(s)
			if err := ValidatePlan(s, n, p); err != nil {
				t.Fatalf("%s planned %s\nover %s: %v", pol.Name(), FormatPlan(p), m, err)
			}
			return p
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
				a := pick(nil)
				if a == nil {
					continue
				}
				busy := map[uint64]bool{}
				for _, in := range a.Inputs {
					for _, id := range in.Tables {
						busy[id] = true
					}
				}
				b := pick(busy)
				if b == nil {
					apply(a)
					continue
				}
				if rapid.Bool().Draw(t, "second finishes first") {
					a, b = b, a
				}
				apply(a)
				apply(b)
			}
		}
		for i := 0; ; i++ {
			if i == 10000 {
				t.Fatalf("%s still plans compactions after %d plans: %s", pol.Name(), i, m)
			}
			p := pick(nil)
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

// String prints the tree one level a line, tables as id:size:[lo,hi].
func (m *Model) String() string {
	b := []byte("\n")
	for lvl, ts := range m.Levels {
		if len(ts) == 0 {
			continue
		}
		b = fmt.Appendf(b, "L%d", lvl)
		for _, t := range ts {
			b = fmt.Appendf(b, " %d:%d:[%d,%d]", t.ID, t.Size, t.Lo, t.Hi)
		}
		b = append(b, '\n')
	}
	return string(slices.Clip(b))
}
