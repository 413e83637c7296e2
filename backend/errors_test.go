package backend_test

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/vfs"
)

// faultWorkload opens a store, writes synced batches through a flush and a
// compaction, and closes it; every error is tolerated. It returns the
// batches acknowledged and the one in flight when a write failed.
func faultWorkload(fs vfs.FS, seed uint64) (acked []crashBatch, inflight *crashBatch) {
	rng := rand.New(rand.NewPCG(seed, 3))
	db, err := backend.Open("/db", crashOptions(fs))
	if err != nil {
		return nil, nil
	}
	defer db.Close()
	for i := 0; i < 120; i++ {
		cb, b := makeBatch(rng, i)
		if err := db.Apply(b, &backend.WriteOptions{Sync: true}); err != nil {
			return acked, &cb
		}
		acked = append(acked, cb)
		if i == 60 || i == 90 {
			if err := db.Flush(); err != nil {
				return acked, nil
			}
		}
		if i == 100 {
			if err := db.Compact(); err != nil {
				return acked, nil
			}
		}
	}
	return acked, nil
}

// TestInjectedErrors fails each file operation of open, writes, flush,
// compaction and close in turn (as EIO, then as ENOSPC). Whatever the
// engine returned, a reopen without the fault must find every acknowledged
// batch, no partial batch, and a store that passes Check. A second round
// also simulates a crash right after the fault.
func TestInjectedErrors(t *testing.T) {
	const seed = 11
	counter := vfs.NewErrorFS(vfs.NewMem(), nil)
	faultWorkload(counter, seed)
	total := counter.Ops()
	if total < 100 {
		t.Fatalf("workload made only %d file operations", total)
	}
	step := int64(1)
	if testing.Short() {
		step = 7
	}
	for _, crash := range []bool{false, true} {
		for i := int64(1); i <= total; i += step {
			fault := error(vfs.ErrInjected)
			if i%2 == 0 {
				fault = syscall.ENOSPC
			}
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem, vfs.FailNth(i, fault))
			acked, inflight := faultWorkload(efs, seed)
			under := vfs.FS(mem)
			if crash {
				under = mem.Crash()
			}
			ctx := fmt.Sprintf("fault at op %d of %d (crash %v)", i, total, crash)
			db, err := backend.Open("/db", crashOptions(under))
			if err != nil {
				t.Fatalf("%s: reopen: %v", ctx, err)
			}
			verifyRecovered(t, db, acked, inflight, ctx)
			if err := db.Close(); err != nil {
				t.Fatalf("%s: close: %v", ctx, err)
			}
			for _, p := range backend.Check("/db", crashOptions(under)) {
				t.Fatalf("%s: check: %v", ctx, p)
			}
		}
	}
}
