package mvcc_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/mvcc"
)

// TestSyncedCommitsShareFsyncs: synced transactions committed by many
// goroutines at once join the engine's commit groups (fewer fsyncs than
// commits), and conflict detection still loses no update: half the workers
// increment one counter (retrying on ErrConflict) while their commits wait
// for fsyncs, the other half write keys of their own.
func TestSyncedCommitsShareFsyncs(t *testing.T) {
	store, err := backend.Open(t.TempDir(), &backend.Options{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db := mvcc.New(store, &mvcc.Options{Sync: true})
	must(t, db.Update(func(txn *mvcc.Txn) error { putBalance(t, txn, 0, 0); return nil }))
	const workers = 16
	each := 40
	if testing.Short() {
		each = 10
	}
	before := store.Stats().WALSyncs
	var wg sync.WaitGroup
	var commits sync.Map
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			n := 0
			for i := 0; i < each; i++ {
				for {
					err := db.Update(func(txn *mvcc.Txn) error {
						if w%2 == 0 {
							putBalance(t, txn, 0, balance(t, txn, 0)+1)
							return nil
						}
						return txn.Set([]byte(fmt.Sprintf("own/%02d/%03d", w, i)), []byte("v"))
					})
					if err == nil {
						n++
						break
					}
					if !errors.Is(err, mvcc.ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
			commits.Store(w, n)
		}(w)
	}
	wg.Wait()
	total := 0
	commits.Range(func(_, v any) bool { total += v.(int); return true })
	must(t, db.View(func(txn *mvcc.Txn) error {
		if got, want := balance(t, txn, 0), int64(workers/2*each); got != want {
			t.Fatalf("counter %d, want %d: an update was lost", got, want)
		}
		for w := 1; w < workers; w += 2 {
			for i := 0; i < each; i++ {
				if _, err := txn.Get([]byte(fmt.Sprintf("own/%02d/%03d", w, i))); err != nil {
					t.Fatalf("own/%02d/%03d: %v", w, i, err)
				}
			}
		}
		return nil
	}))
	syncs := store.Stats().WALSyncs - before
	if syncs >= int64(total) {
		t.Fatalf("%d synced commits took %d fsyncs: commits did not share them", total, syncs)
	}
	t.Logf("%d synced commits, %d fsyncs", total, syncs)
}
