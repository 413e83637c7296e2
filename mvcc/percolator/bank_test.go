package percolator_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// tso hands out increasing timestamps whose physical part is the wall
// clock, as PD's does.
type tso struct {
	mu   sync.Mutex
	last uint64
}

func (o *tso) next() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = max(o.last+1, uint64(time.Now().UnixMilli())<<18)
	return o.last
}

// client is a percolator client in miniature: reads that resolve the locks
// they meet, and two-phase commit with the first key as primary.
type client struct {
	e   *env
	tso *tso
	rng *rand.Rand
	ttl uint64
}

// resolve settles the transaction owning lock l from its primary: if it is
// dead, its locks are committed or rolled back; if alive, the caller backs
// off (the check may also have pushed its min_commit_ts past callerTs).
func (c *client) resolve(l *kvrpcpb.LockInfo, callerTs uint64) error {
	st, err := c.e.s.CheckTxnStatus(&kvrpcpb.CheckTxnStatusRequest{
		PrimaryKey: l.PrimaryLock, LockTs: l.LockVersion, CallerStartTs: callerTs, CurrentTs: c.tso.next(), RollbackIfNotExist: true,
	})
	if err != nil {
		return err
	}
	if st.Error != nil {
		return fmt.Errorf("check txn status: %v", st.Error)
	}
	if st.LockTtl > 0 {
		time.Sleep(time.Millisecond)
		return nil
	}
	req := &kvrpcpb.ResolveLockRequest{StartVersion: l.LockVersion, CommitVersion: st.CommitVersion}
	if c.rng.IntN(2) == 0 {
		req.Keys = [][]byte{l.Key} // resolve just this key; otherwise scan for all
	}
	r, err := c.e.s.ResolveLock(req)
	if err != nil {
		return err
	}
	if r.Error != nil {
		return fmt.Errorf("resolve lock: %v", r.Error)
	}
	return nil
}

// readAll reads every account at ts, resolving locks until none blocks.
func (c *client) readAll(accounts int, ts uint64) (map[string]int64, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 10000 {
			return nil, fmt.Errorf("read at %d kept meeting locks", ts)
		}
		var r *kvrpcpb.ScanResponse
		var err error
		if c.rng.IntN(2) == 0 {
			r, err = c.e.s.Scan(&kvrpcpb.ScanRequest{StartKey: []byte("acct/"), EndKey: []byte("acct0"), Limit: 1000, Version: ts})
		} else {
			r, err = c.e.s.Scan(&kvrpcpb.ScanRequest{StartKey: []byte("acct0"), EndKey: []byte("acct/"), Limit: 1000, Version: ts, Reverse: true})
		}
		if err != nil {
			return nil, err
		}
		out := map[string]int64{}
		blocked := false
		for _, p := range r.Pairs {
			if p.Error != nil {
				if p.Error.Locked == nil {
					return nil, fmt.Errorf("scan: %v", p.Error)
				}
				blocked = true
				if err := c.resolve(p.Error.Locked, ts); err != nil {
					return nil, err
				}
				continue
			}
			out[string(p.Key)] = int64(binary.BigEndian.Uint64(p.Value))
		}
		if !blocked {
			if len(out) != accounts {
				return nil, fmt.Errorf("read at %d found %d accounts", ts, len(out))
			}
			return out, nil
		}
	}
}

// transfer moves money between two accounts. It returns whether it
// committed; abandon makes it stop after prewrite (or after committing only
// the primary), leaving locks for others to resolve.
func (c *client) transfer(from, to string, amount int64, abandonAfterPrewrite, abandonAfterPrimary bool) (bool, error) {
	start := c.tso.next()
	var bal [2]int64
	for i, k := range []string{from, to} {
		for {
			r, err := c.e.s.Get(&kvrpcpb.GetRequest{Key: []byte(k), Version: start})
			if err != nil {
				return false, err
			}
			if r.Error != nil {
				if r.Error.Locked == nil {
					return false, fmt.Errorf("get: %v", r.Error)
				}
				if err := c.resolve(r.Error.Locked, start); err != nil {
					return false, err
				}
				continue
			}
			bal[i] = int64(binary.BigEndian.Uint64(r.Value))
			break
		}
	}
	enc := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	pw, err := c.e.s.Prewrite(&kvrpcpb.PrewriteRequest{
		Mutations: []*kvrpcpb.Mutation{
			{Op: kvrpcpb.Op_Put, Key: []byte(from), Value: enc(bal[0] - amount)},
			{Op: kvrpcpb.Op_Put, Key: []byte(to), Value: enc(bal[1] + amount)},
		},
		PrimaryLock: []byte(from), StartVersion: start, LockTtl: c.ttl, MinCommitTs: start + 1, TxnSize: 2,
	})
	if err != nil {
		return false, err
	}
	if len(pw.Errors) > 0 {
		for _, ke := range pw.Errors {
			if ke.Locked != nil {
				if err := c.resolve(ke.Locked, start); err != nil {
					return false, err
				}
			} else if ke.Conflict == nil {
				return false, fmt.Errorf("prewrite: %v", ke)
			}
		}
		// Give up this attempt; nothing of it was written.
		return false, nil
	}
	if abandonAfterPrewrite {
		return false, nil
	}
	commitTs := c.tso.next()
	for {
		r, err := c.e.s.Commit(&kvrpcpb.CommitRequest{StartVersion: start, CommitVersion: commitTs, Keys: [][]byte{[]byte(from)}})
		if err != nil {
			return false, err
		}
		if r.Error == nil {
			break
		}
		if r.Error.CommitTsExpired != nil {
			commitTs = c.tso.next() // a reader pushed min_commit_ts: commit later
			continue
		}
		// Rolled back by someone who found the lock expired: the
		// transaction failed as a whole; its secondaries get resolved.
		if r.Error.Retryable == "" {
			return false, fmt.Errorf("commit primary: %v", r.Error)
		}
		return false, nil
	}
	if abandonAfterPrimary {
		return true, nil // committed; the secondary lock is left for resolvers
	}
	r, err := c.e.s.Commit(&kvrpcpb.CommitRequest{StartVersion: start, CommitVersion: commitTs, Keys: [][]byte{[]byte(to)}})
	if err != nil {
		return false, err
	}
	if r.Error != nil {
		return false, fmt.Errorf("commit secondary after the primary committed: %v", r.Error)
	}
	return true, nil
}

// TestBank runs concurrent transfers through percolator. Some clients
// abandon their transaction after prewrite, or after committing only the
// primary; everyone resolves the locks they meet. Auditors read all
// balances at fresh and at past timestamps: the total never changes.
func TestBank(t *testing.T) {
	const accounts, initial = 10, 1000
	clients, transfers := 4, 250
	if testing.Short() {
		clients, transfers = 3, 60
	}
	e := newEnv(t)
	clock := &tso{}
	// Accounts are created by one transaction.
	var muts []*kvrpcpb.Mutation
	for i := 0; i < accounts; i++ {
		muts = append(muts, &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: []byte(fmt.Sprintf("acct/%02d", i)),
			Value: binary.BigEndian.AppendUint64(nil, initial)})
	}
	e.txn(clock.next(), clock.next(), muts...)

	var committed, abandoned, failed, audits atomic.Int64
	var pastMu sync.Mutex
	past := []uint64{clock.next()}
	var wg sync.WaitGroup
	var stop atomic.Bool
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			c := &client{e: e, tso: clock, rng: rand.New(rand.NewPCG(seed, 1)), ttl: 30}
			for n := 0; n < transfers; n++ {
				from, to := c.rng.IntN(accounts), c.rng.IntN(accounts)
				if from == to {
					continue
				}
				abandonPrewrite := c.rng.IntN(8) == 0
				abandonPrimary := !abandonPrewrite && c.rng.IntN(8) == 0
				ok, err := c.transfer(fmt.Sprintf("acct/%02d", from), fmt.Sprintf("acct/%02d", to), int64(c.rng.IntN(100)), abandonPrewrite, abandonPrimary)
				if err != nil {
					t.Error(err)
					return
				}
				switch {
				case ok:
					committed.Add(1)
				case abandonPrewrite:
					abandoned.Add(1)
				default:
					failed.Add(1)
				}
				if n%10 == 0 {
					pastMu.Lock()
					past = append(past, clock.next())
					pastMu.Unlock()
				}
			}
		}(uint64(i))
	}
	var auditWG sync.WaitGroup
	for i := 0; i < 2; i++ {
		auditWG.Add(1)
		go func(seed uint64) {
			defer auditWG.Done()
			c := &client{e: e, tso: clock, rng: rand.New(rand.NewPCG(seed, 2)), ttl: 30}
			for !stop.Load() {
				readTs := clock.next()
				if c.rng.IntN(2) == 0 {
					pastMu.Lock()
					readTs = past[c.rng.IntN(len(past))]
					pastMu.Unlock()
				}
				bal, err := c.readAll(accounts, readTs)
				if err != nil {
					t.Error(err)
					return
				}
				var sum int64
				for _, b := range bal {
					sum += b
				}
				if sum != accounts*initial {
					t.Errorf("at ts %d the balances sum to %d, want %d: %v", readTs, sum, accounts*initial, bal)
					return
				}
				audits.Add(1)
			}
		}(uint64(100 + i))
	}
	wg.Wait()
	stop.Store(true)
	auditWG.Wait()

	// Once every TTL has run out, a final read resolves whatever is left.
	time.Sleep(40 * time.Millisecond)
	c := &client{e: e, tso: clock, rng: rand.New(rand.NewPCG(9, 9)), ttl: 30}
	for _, readTs := range append(past, clock.next()) {
		bal, err := c.readAll(accounts, readTs)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, b := range bal {
			sum += b
		}
		if sum != accounts*initial {
			t.Fatalf("sum at %d is %d", readTs, sum)
		}
	}
	if got := e.locks(); got != "" {
		t.Fatalf("locks left after resolving everything: %s", got)
	}
	if committed.Load() == 0 || audits.Load() == 0 {
		t.Fatalf("nothing happened: %d commits, %d audits", committed.Load(), audits.Load())
	}
	t.Logf("%d committed, %d abandoned after prewrite, %d failed, %d audits", committed.Load(), abandoned.Load(), failed.Load(), audits.Load())
}
