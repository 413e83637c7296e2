package mvcc_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nokv/nokv/mvcc"
)

func account(i int) []byte { return []byte(fmt.Sprintf("acct/%03d", i)) }

func balance(t testing.TB, txn *mvcc.Txn, i int) int64 {
	v, err := txn.Get(account(i))
	if err != nil {
		t.Fatalf("account %d: %v", i, err)
	}
	return int64(binary.BigEndian.Uint64(v))
}

func putBalance(t testing.TB, txn *mvcc.Txn, i int, b int64) {
	if err := txn.Set(account(i), binary.BigEndian.AppendUint64(nil, uint64(b))); err != nil {
		t.Fatal(err)
	}
}

// TestBank moves money between accounts from many goroutines with conflict
// detection on, while auditors check in read-only transactions that the
// total never changes, by point reads and by scans in both directions. Some
// transfers are abandoned (discarded) half way. At the end every transfer
// that committed is accounted for.
func TestBank(t *testing.T) {
	const accounts, initial = 20, 1000
	workers, transfers := 4, 300
	if testing.Short() {
		transfers = 100
	}
	store := openStore(t)
	db := mvcc.New(store, nil)
	must(t, db.Update(func(txn *mvcc.Txn) error {
		for i := 0; i < accounts; i++ {
			putBalance(t, txn, i, initial)
		}
		return nil
	}))
	var committed, conflicts, abandoned atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 7))
			for n := 0; n < transfers; n++ {
				from, to := rng.IntN(accounts), rng.IntN(accounts)
				if from == to {
					continue
				}
				amount := int64(rng.IntN(50))
				txn := db.Begin(true)
				a, b := balance(t, txn, from), balance(t, txn, to)
				putBalance(t, txn, from, a-amount)
				if rng.IntN(10) == 0 {
					txn.Discard() // abandoned half way
					abandoned.Add(1)
					continue
				}
				putBalance(t, txn, to, b+amount)
				switch err := txn.Commit(); {
				case err == nil:
					committed.Add(1)
				case errors.Is(err, mvcc.ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		}(uint64(w))
	}
	audits := atomic.Int64{}
	var auditWG sync.WaitGroup
	for a := 0; a < 2; a++ {
		auditWG.Add(1)
		go func(reverse bool) {
			defer auditWG.Done()
			for !stop.Load() {
				err := db.View(func(txn *mvcc.Txn) error {
					var sum int64
					for i := 0; i < accounts; i++ {
						sum += balance(t, txn, i)
					}
					it, err := txn.NewIterator(mvcc.IteratorOptions{Prefix: []byte("acct/"), Reverse: reverse})
					if err != nil {
						return err
					}
					defer it.Close()
					var scanned int64
					for it.Rewind(); it.Valid(); it.Next() {
						v, err := it.Value()
						if err != nil {
							return err
						}
						scanned += int64(binary.BigEndian.Uint64(v))
					}
					if sum != accounts*initial || scanned != sum {
						return fmt.Errorf("at read ts %d: point sum %d, scan sum %d, want %d", txn.ReadTs(), sum, scanned, accounts*initial)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				audits.Add(1)
			}
		}(a == 1)
	}
	wg.Wait()
	stop.Store(true)
	auditWG.Wait()
	if committed.Load() == 0 || audits.Load() == 0 {
		t.Fatalf("nothing happened: %d commits, %d audits", committed.Load(), audits.Load())
	}
	t.Logf("%d transfers committed, %d conflicts, %d abandoned, %d audits", committed.Load(), conflicts.Load(), abandoned.Load(), audits.Load())
	if db.OpenTxns() != 0 {
		t.Fatalf("%d transactions left open", db.OpenTxns())
	}
}

// TestConcurrentIncrements has many goroutines increment one counter with
// retries on conflict: with detection on, no increment is lost.
func TestConcurrentIncrements(t *testing.T) {
	db := mvcc.New(openStore(t), nil)
	must(t, db.Update(func(txn *mvcc.Txn) error { putBalance(t, txn, 0, 0); return nil }))
	const workers, each = 4, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < each; n++ {
				for {
					err := db.Update(func(txn *mvcc.Txn) error {
						putBalance(t, txn, 0, balance(t, txn, 0)+1)
						return nil
					})
					if err == nil {
						break
					}
					if !errors.Is(err, mvcc.ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	must(t, db.View(func(txn *mvcc.Txn) error {
		if got := balance(t, txn, 0); got != workers*each {
			t.Fatalf("counter %d, want %d", got, workers*each)
		}
		return nil
	}))
}
