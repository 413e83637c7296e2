package backend_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/vfs"
)

// TestConcurrentWritersVisibility runs many writers (synced and unsynced,
// single entries and batches) while readers check that what they see is a
// prefix of the commit order: at any read version V, every version 1..V is
// visible. Every batch writes keys no other batch writes, so no version is
// hidden by a newer one. At the end every acknowledged write is read back.
func TestConcurrentWritersVisibility(t *testing.T) {
	o := smallOptions(nil)
	o.MemtableSize = 256 << 10
	db := openTest(t, t.TempDir(), o)
	const writers = 16
	perWriter := 300
	if testing.Short() {
		perWriter = 100
	}
	var stop atomic.Bool
	var wg, rg sync.WaitGroup
	errs := make(chan error, writers+4)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for n := 0; n < perWriter; n++ {
				b := backend.NewBatch()
				for j := 0; j <= rng.IntN(3); j++ {
					b.Set([]byte(fmt.Sprintf("w%02d-%04d-%d", w, n, j)), []byte(fmt.Sprint(n)))
				}
				if err := db.Apply(b, &backend.WriteOptions{Sync: w%4 == 0}); err != nil {
					errs <- err
					return
				}
				// Read your own write.
				if _, err := db.Get([]byte(fmt.Sprintf("w%02d-%04d-0", w, n))); err != nil {
					errs <- fmt.Errorf("writer %d: own write %d not visible: %v", w, n, err)
					return
				}
			}
		}(w)
	}
	for r := 0; r < 2; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for !stop.Load() {
				s := db.NewSnapshot()
				it, err := s.NewIterator(nil)
				if err != nil {
					errs <- err
					s.Release()
					return
				}
				seen := make(map[uint64]bool)
				for ok := it.First(); ok; ok = it.Next() {
					seen[it.Version()] = true
				}
				it.Close()
				for v := uint64(1); v <= s.Version(); v++ {
					if !seen[v] {
						errs <- fmt.Errorf("snapshot at %d does not see version %d", s.Version(), v)
						s.Release()
						return
					}
				}
				s.Release()
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.Batches != writers*int64(perWriter) {
		t.Fatalf("stats count %d batches, want %d", st.Batches, writers*perWriter)
	}
	t.Logf("%d batches in %d commit groups (mean %.1f per group), %d fsyncs",
		st.Batches, st.CommitGroups, float64(st.Batches)/float64(st.CommitGroups), st.WALSyncs)
}

// TestConcurrentSyncedWritersCrash crashes the in-memory FS while many
// writers commit synced batches; after recovery every acknowledged batch is
// present and no batch is present in part.
func TestConcurrentSyncedWritersCrash(t *testing.T) {
	iters := 30
	if testing.Short() {
		iters = 8
	}
	for iter := 0; iter < iters; iter++ {
		seed := uint64(iter + 1)
		fs := vfs.NewMem()
		db, err := backend.Open("/db", crashOptions(fs))
		must(t, err)
		fs.CrashAfter(50 + rand.New(rand.NewPCG(seed, 8)).Int64N(600))
		var mu sync.Mutex
		var acked []crashBatch
		var inflight []crashBatch
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(w)))
				for i := 0; i < 200; i++ {
					cb, b := makeBatch(rng, w*1000+i)
					// Writers own disjoint key sets, so batches commute and the
					// recovered state does not depend on commit order.
					cb2, b2 := crashBatch{sets: map[string]string{}, dels: map[string]bool{}}, backend.NewBatch()
					for k, v := range cb.sets {
						k = fmt.Sprintf("w%d/%s", w, k)
						cb2.sets[k] = v
						b2.Set([]byte(k), []byte(v))
					}
					_ = b
					if err := db.Apply(b2, &backend.WriteOptions{Sync: true}); err != nil {
						mu.Lock()
						inflight = append(inflight, cb2)
						mu.Unlock()
						return
					}
					mu.Lock()
					acked = append(acked, cb2)
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		_ = db.Close()
		rfs := fs.Recovered()
		if rfs == nil {
			rfs = fs.Crash()
		}
		db2, err := backend.Open("/db", crashOptions(rfs))
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		got := model{}
		it, err := db2.NewIterator(nil)
		must(t, err)
		for ok := it.First(); ok; ok = it.Next() {
			v, _ := it.Value()
			got[string(it.Key())] = string(v)
		}
		must(t, it.Close())
		want := model{}
		for _, b := range acked {
			b.apply(want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("seed %d: acknowledged %s=%s lost (found %q)", seed, k, v, got[k])
			}
		}
		// Whatever else is there must be whole in-flight batches.
		extra := model{}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				extra[k] = v
			}
		}
		for _, b := range inflight {
			present := 0
			for k := range b.sets {
				if _, ok := extra[k]; ok {
					present++
					delete(extra, k)
				}
			}
			if present != 0 && present != len(b.sets) {
				t.Fatalf("seed %d: in-flight batch found in part (%d of %d keys)", seed, present, len(b.sets))
			}
		}
		if len(extra) > 0 {
			t.Fatalf("seed %d: %d keys from no batch: %v", seed, len(extra), extra)
		}
		must(t, db2.Close())
		for _, p := range backend.Check("/db", crashOptions(rfs)) {
			t.Fatalf("seed %d: check: %v", seed, p)
		}
	}
}

// TestHotKeyWidensGroups: many synced writers of one hot key queue up past
// WriteBatchMaxCount; the leader widens its groups (WidenedGroups counts
// them, and the mean group exceeds the normal cap), and every write lands.
func TestHotKeyWidensGroups(t *testing.T) {
	o := smallOptions(nil)
	o.WriteBatchMaxCount = 2
	o.HotKeyGroupThreshold = 16
	db := openTest(t, t.TempDir(), o)
	const writers, each = 24, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; n < each; n++ {
				b := backend.NewBatch()
				b.Set([]byte("hot"), []byte(fmt.Sprint(w, n)))
				b.Set([]byte(fmt.Sprintf("w%02d-%03d", w, n)), []byte("x"))
				if err := db.Apply(b, &backend.WriteOptions{Sync: true}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.WidenedGroups == 0 {
		t.Fatalf("no group widened (%d batches in %d groups)", st.Batches, st.CommitGroups)
	}
	if mean := float64(st.Batches) / float64(st.CommitGroups); mean <= 2 {
		t.Fatalf("mean group %.2f batches, not above WriteBatchMaxCount 2 (%d widened)", mean, st.WidenedGroups)
	}
	for w := 0; w < writers; w++ {
		for n := 0; n < each; n++ {
			if _, err := db.Get([]byte(fmt.Sprintf("w%02d-%03d", w, n))); err != nil {
				t.Fatalf("write %d/%d lost: %v", w, n, err)
			}
		}
	}
	t.Logf("%d batches in %d groups, %d widened", st.Batches, st.CommitGroups, st.WidenedGroups)
}
