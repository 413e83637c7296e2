package backend_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/vfs"
)

var tornSeeds = flag.Int("torn.seeds", 0, "seeds of TestRepeatedCrashesWithTornWrites (default 30, 8 with -short)")

// TestRepeatedCrashesWithTornWrites writes batches, a third of them
// unsynced, and loses power (vfs.MemFS with torn writes: each file keeps a
// random prefix of its unsynced bytes, independently of the others, as a
// disk that writes pages back in any order); it reopens, checks, writes
// more and loses power again, three times per seed, for every value store.
// After each power loss the store must hold the batches acknowledged before
// it up to some point (every synced one included) and nothing else:
// unsynced batches may be lost, only from the end, and never in part.
func TestRepeatedCrashesWithTornWrites(t *testing.T) {
	seeds := *tornSeeds
	if seeds == 0 {
		seeds = 30
		if testing.Short() {
			seeds = 8
		}
	}
	for _, vs := range registry.Builtin().Names(registry.KindValueStore) {
		t.Run(vs, func(t *testing.T) {
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				tornCrashRounds(t, faultConfig{valueStore: vs}, seed)
			}
		})
	}
}

func tornCrashRounds(t *testing.T, cfg faultConfig, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	mem := vfs.NewMem()
	want := model{}
	n := 0
	for round := range 3 {
		ctx := fmt.Sprintf("seed %d round %d", seed, round)
		db, err := backend.Open("/db", faultOptions(mem, cfg))
		if err != nil {
			t.Fatalf("%s: open: %v", ctx, err)
		}
		if round > 0 {
			checkOutcome(t, db, ctx, want, nil, 0)
		}
		var acked []crashBatch
		lastSynced := -1
		for range 40 {
			cb, b := makeBatch(rng, n)
			n++
			sync := rng.IntN(3) != 0
			if err := db.Apply(b, &backend.WriteOptions{Sync: sync}); err != nil {
				t.Fatalf("%s: write: %v", ctx, err)
			}
			acked = append(acked, cb)
			if sync {
				lastSynced = len(acked) - 1
			}
			if rng.IntN(15) == 0 {
				if err := db.Flush(); err != nil {
					t.Fatalf("%s: flush: %v", ctx, err)
				}
			}
		}
		mem.SetTornWrites(rand.New(rand.NewPCG(seed, uint64(round))))
		rec := mem.Crash()
		_ = db.Close()
		mem = rec
		db, err = backend.Open("/db", faultOptions(mem, cfg))
		if err != nil {
			t.Fatalf("%s: reopen after the power loss: %v", ctx, err)
		}
		want = checkOutcome(t, db, ctx, want, acked, lastSynced+1)
		if err := db.Close(); err != nil {
			t.Fatalf("%s: close: %v", ctx, err)
		}
		for _, p := range backend.Check("/db", faultOptions(mem, cfg)) {
			t.Fatalf("%s: check: %v", ctx, p)
		}
	}
}

// checkOutcome finds the k (at least min) such that the store holds base
// plus the first k batches, and returns that state; it fails the test if
// there is none.
func checkOutcome(t *testing.T, db *backend.DB, ctx string, base model, batches []crashBatch, min int) model {
	t.Helper()
	got := model{}
	it, err := db.NewIterator(nil)
	if err != nil {
		t.Fatalf("%s: %v", ctx, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatalf("%s: value of %q: %v", ctx, it.Key(), err)
		}
		got[string(it.Key())] = string(v)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("%s: scan: %v", ctx, err)
	}
	m := model{}
	for k, v := range base {
		m[k] = v
	}
	for k := 0; k <= len(batches); k++ {
		if k > 0 {
			batches[k-1].apply(m)
		}
		if k >= min && equalModels(got, m) {
			return m
		}
	}
	full := model{}
	for k, v := range base {
		full[k] = v
	}
	for _, b := range batches[:min] {
		b.apply(full)
	}
	t.Fatalf("%s: the store holds no prefix of the %d acknowledged batches that keeps the %d synced ones: %s",
		ctx, len(batches), min, diffModels(got, full))
	return nil
}
