package backend_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// stallingPolicy wraps a policy and holds the first Pick's plan back until
// released, so a second compaction can run in between.
type stallingPolicy struct {
	iface.CompactionPolicy
	first   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (p *stallingPolicy) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	plan := p.CompactionPolicy.Pick(s)
	if plan != nil && p.first.CompareAndSwap(false, true) {
		close(p.entered)
		<-p.release
	}
	return plan
}

// TestConcurrentCompactionsDoNotRunStalePlans was found by TestMetamorphic
// (variant large-memtable, seed 3): an explicit Compact raced with the
// background compaction, both picked the same L0 tables, and the one that
// came second ran its plan after the first had already replaced those
// tables. Its manifest edit deleted tables that no longer existed, which
// failed ("delete table 9 from L0: no such table") and left the store
// read-only. A plan picked from a version that is no longer current must
// not run.
func TestConcurrentCompactionsDoNotRunStalePlans(t *testing.T) {
	for _, move := range []bool{false, true} {
		t.Run(fmt.Sprintf("trivial-move=%v", move), func(t *testing.T) {
			pol := &stallingPolicy{
				CompactionPolicy: leveled.New(leveled.Options{L0Trigger: 2}),
				entered:          make(chan struct{}),
				release:          make(chan struct{}),
			}
			o := smallOptions(vfs.NewMem())
			o.CompactionPolicy = pol
			o.DisableBackgroundWork = true
			db := openTest(t, "/db", o)
			tables := 2
			if move {
				// One table alone in L0 is moved down by a manifest edit
				// once the policy asks (L0 trigger 1 below).
				pol.CompactionPolicy = leveled.New(leveled.Options{L0Trigger: 1})
				tables = 1
			}
			for i := range tables {
				for j := range 50 {
					must(t, db.Set(key(j), []byte(fmt.Sprintf("value %d of table %d", j, i)), nil))
				}
				must(t, db.Flush())
			}
			var wg sync.WaitGroup
			var firstErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				firstErr = db.Compact() // its first Pick stalls
			}()
			<-pol.entered
			must(t, db.Compact()) // runs the same plan to the end
			close(pol.release)
			wg.Wait()
			if firstErr != nil {
				t.Fatalf("the compaction that picked first failed: %v", firstErr)
			}
			must(t, db.Set([]byte("after"), []byte("x"), nil))
			for j := range 50 {
				expectGet(t, db, string(key(j)), fmt.Sprintf("value %d of table %d", j, tables-1))
			}
		})
	}
}
