package backend_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/vfs"
)

var crashIters = flag.Int("crash.iters", 0, "crash-test iterations (default 200, or 40 with -short)")

// workload writes synced batches; every batch i sets a random set of keys to
// values that name the batch, or deletes some, so a partly applied batch is
// visible as a mixture. It returns the batches acknowledged before the first
// error, and the one that was in flight (nil if none).
type crashBatch struct {
	sets map[string]string
	dels map[string]bool
}

func (b crashBatch) apply(m model) {
	for k := range b.dels {
		delete(m, k)
	}
	for k, v := range b.sets {
		m[k] = v
	}
}

func makeBatch(rng *rand.Rand, i int) (crashBatch, *backend.Batch) {
	cb := crashBatch{sets: map[string]string{}, dels: map[string]bool{}}
	b := backend.NewBatch()
	n := 1 + rng.IntN(12)
	for j := 0; j < n; j++ {
		k := fmt.Sprintf("k%04d", rng.IntN(400))
		if cb.sets[k] != "" || cb.dels[k] {
			continue
		}
		if rng.IntN(6) == 0 {
			cb.dels[k] = true
			b.Delete([]byte(k))
			continue
		}
		v := fmt.Sprintf("b%d-%s-%0*d", i, k, rng.IntN(300), 0)
		cb.sets[k] = v
		b.Set([]byte(k), []byte(v))
	}
	return cb, b
}

func runCrashWorkload(db *backend.DB, rng *rand.Rand, batches int) (acked []crashBatch, inflight *crashBatch) {
	for i := 0; i < batches; i++ {
		cb, b := makeBatch(rng, i)
		if err := db.Apply(b, &backend.WriteOptions{Sync: true}); err != nil {
			return acked, &cb
		}
		acked = append(acked, cb)
		switch rng.IntN(40) {
		case 0:
			if err := db.Flush(); err != nil {
				return acked, nil
			}
		case 1:
			if err := db.Compact(); err != nil {
				return acked, nil
			}
		}
	}
	return acked, nil
}

// verifyRecovered checks that the reopened store holds exactly the acked
// batches, or the acked batches plus the whole in-flight one.
func verifyRecovered(t *testing.T, db *backend.DB, acked []crashBatch, inflight *crashBatch, ctx string) {
	t.Helper()
	want := model{}
	for _, b := range acked {
		b.apply(want)
	}
	got := model{}
	it, err := db.NewIterator(nil)
	if err != nil {
		t.Fatalf("%s: %v", ctx, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatalf("%s: %v", ctx, err)
		}
		got[string(it.Key())] = string(v)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("%s: iterate: %v", ctx, err)
	}
	if equalModels(got, want) {
		return
	}
	if inflight != nil {
		with := model{}
		for k, v := range want {
			with[k] = v
		}
		inflight.apply(with)
		if equalModels(got, with) {
			return
		}
	}
	t.Fatalf("%s: recovered state differs from the acknowledged batches (%d acked, in flight: %v)\n%s",
		ctx, len(acked), inflight != nil, diffModels(got, want))
}

func equalModels(a, b model) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func diffModels(got, want model) string {
	var lines []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			lines = append(lines, fmt.Sprintf("missing %s=%s", k, v))
		} else if g != v {
			lines = append(lines, fmt.Sprintf("wrong %s=%s, want %s", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("extra %s=%s", k, v))
		}
	}
	sort.Strings(lines)
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("... %d more", len(lines)-10))
	}
	return fmt.Sprint(lines)
}

// TestCrashAtRandomInstants writes synced batches on the crashing in-memory
// FS, with background flushes and compactions, crashes at a random mutating
// file operation, reopens what the crash left, and checks that every
// acknowledged batch is there and no unacknowledged batch is there in part.
func TestCrashAtRandomInstants(t *testing.T) {
	iters := *crashIters
	if iters == 0 {
		iters = 200
		if testing.Short() {
			iters = 40
		}
	}
	hits := map[string]int{}
	for iter := 0; iter < iters; iter++ {
		seed := uint64(iter) + 1
		// A dry run counts the workload's mutating file operations and notes
		// which of them touch tables and the manifest, so the crash point
		// can be drawn from the whole run, and half the time from the rarer
		// flush, compaction and manifest operations.
		var all int64
		var rareOps, metaOps, currentOps []int64
		var dmu sync.Mutex
		dry := vfs.NewMem()
		dobs := vfs.NewErrorFS(dry, vfs.InjectorFunc(func(op vfs.Op, name string) error {
			dmu.Lock()
			defer dmu.Unlock()
			if isMutating(op) {
				all++
				// Value-log operations come with every synced batch,
				// as log ones do: they are not rare.
				if !strings.HasSuffix(name, ".wal") && !strings.Contains(name, "/vlog/") {
					rareOps = append(rareOps, all)
				}
				if strings.Contains(name, "MANIFEST") {
					metaOps = append(metaOps, all)
				}
				if strings.Contains(name, "CURRENT") {
					currentOps = append(currentOps, all)
				}
			}
			return nil
		}))
		if db, err := backend.Open("/db", crashOptions(dobs)); err == nil {
			runCrashWorkload(db, rand.New(rand.NewPCG(seed, 99)), crashBatches)
			db.Close()
		}
		dmu.Lock() // the closed store's goroutines are done; take the counts
		total, rare, meta, cur := all, rareOps, metaOps, currentOps
		dmu.Unlock()
		rng := rand.New(rand.NewPCG(seed, 99))
		pick := rand.New(rand.NewPCG(seed, 42))
		crashAt := 1 + pick.Int64N(max(total, 1))
		switch pick.IntN(4) {
		case 1:
			if len(rare) > 0 {
				crashAt = rare[pick.IntN(len(rare))]
			}
		case 2:
			if len(meta) > 0 {
				crashAt = meta[pick.IntN(len(meta))]
			}
		case 3:
			if len(cur) > 0 {
				crashAt = cur[pick.IntN(len(cur))]
			}
		}

		fs := vfs.NewMem()
		if iter%3 == 1 {
			fs.SetTornWrites(rand.New(rand.NewPCG(seed, 5)))
		}
		// An observer records the file of every mutating operation, so the
		// test can tell where the crash hit.
		var mu sync.Mutex
		var last string
		obs := vfs.NewErrorFS(fs, vfs.InjectorFunc(func(op vfs.Op, name string) error {
			if isMutating(op) && !fs.Crashed() {
				mu.Lock()
				last = op.String() + " " + name
				mu.Unlock()
			}
			return nil
		}))
		o := crashOptions(obs)
		db, err := backend.Open("/db", o)
		if err != nil {
			t.Fatalf("seed %d: open: %v", seed, err)
		}
		fs.CrashAfter(crashAt - fs.MutatingOps())
		acked, inflight := runCrashWorkload(db, rng, crashBatches)
		_ = db.Close()
		rfs := fs.Recovered()
		if rfs == nil {
			rfs = fs.Crash()
			hits["after the workload"]++
		} else {
			mu.Lock()
			hits[crashSite(last)]++
			mu.Unlock()
		}
		ctx := fmt.Sprintf("seed %d", seed)
		ro := crashOptions(rfs)
		db2, err := backend.Open("/db", ro)
		if err != nil {
			t.Fatalf("%s: reopen after crash: %v", ctx, err)
		}
		verifyRecovered(t, db2, acked, inflight, ctx)
		if err := db2.Close(); err != nil {
			t.Fatalf("%s: close: %v", ctx, err)
		}
		for _, p := range backend.Check("/db", ro) {
			t.Fatalf("%s: check after recovery: %v", ctx, p)
		}
	}
	t.Logf("crash sites over %d iterations: %v", iters, hits)
	if !testing.Short() && iters >= 200 {
		for _, site := range []string{"log", "table (flush or compaction)", "manifest", "CURRENT (manifest rewrite)"} {
			if hits[site] == 0 {
				t.Errorf("no crash hit the %s; widen the workload", site)
			}
		}
	}
}

const crashBatches = 500

func isMutating(op vfs.Op) bool {
	switch op {
	case vfs.OpWrite, vfs.OpSync, vfs.OpCreate, vfs.OpOpenAppend, vfs.OpRename, vfs.OpRemove, vfs.OpSyncDir, vfs.OpTruncate, vfs.OpMkdirAll:
		return true
	}
	return false
}

// crashSite classifies the last file operation before a crash.
func crashSite(op string) string {
	switch {
	case strings.Contains(op, ".wal"):
		return "log"
	case strings.Contains(op, ".sst"):
		return "table (flush or compaction)"
	case strings.Contains(op, "CURRENT"):
		return "CURRENT (manifest rewrite)"
	case strings.Contains(op, "MANIFEST"):
		return "manifest"
	}
	return "other: " + op
}

func crashOptions(fs vfs.FS) *backend.Options {
	o := smallOptions(fs)
	o.MemtableSize = 64 << 10
	o.LogSegmentSize = 16 << 10
	o.MaxManifestFileSize = 1 << 10
	return o
}
