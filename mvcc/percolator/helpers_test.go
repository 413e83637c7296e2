package percolator_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/mvcc/percolator"
	"github.com/nokv/nokv/vfs"
)

// ts makes a TSO timestamp from physical milliseconds and a logical part.
func ts(ms, logical uint64) uint64 { return ms<<18 | logical }

// env is a store with percolator on top, and shorthands for commands that
// fail the test on store errors.
type env struct {
	t     testing.TB
	store *backend.DB
	s     *percolator.Storage
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e, closeEnv := openEnv(t)
	t.Cleanup(closeEnv)
	return e
}

// openEnv makes an env and returns the function that closes and checks its
// store (for property tests that make many in one test).
func openEnv(t testing.TB) (*env, func()) {
	t.Helper()
	o := &backend.Options{
		FS:             vfs.NewMem(),
		MemtableSize:   64 << 10,
		BlockCacheSize: 1 << 20,
		Logger:         hclog.NewNullLogger(),
	}
	db, err := backend.Open("/db", o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, store: db, s: percolator.New(db, nil)}, func() {
		if err := db.Close(); err != nil && !errors.Is(err, iface.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		for _, p := range backend.Check("/db", o) {
			t.Errorf("check: %v", p)
		}
	}
}

func put(k, v string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_Put, Key: []byte(k), Value: []byte(v)}
}
func del(k string) *kvrpcpb.Mutation { return &kvrpcpb.Mutation{Op: kvrpcpb.Op_Del, Key: []byte(k)} }
func lockOp(k string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_Lock, Key: []byte(k)}
}
func insert(k, v string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_Insert, Key: []byte(k), Value: []byte(v)}
}
func notExists(k string) *kvrpcpb.Mutation {
	return &kvrpcpb.Mutation{Op: kvrpcpb.Op_CheckNotExists, Key: []byte(k)}
}

func keys(ks ...string) [][]byte {
	out := make([][]byte, len(ks))
	for i, k := range ks {
		out[i] = []byte(k)
	}
	return out
}

func (e *env) check(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// prewrite prewrites muts for the transaction at start with the first
// mutation's key as primary and a TTL of ttl ms; it returns the errors.
func (e *env) prewrite(start, ttl uint64, muts ...*kvrpcpb.Mutation) []*kvrpcpb.KeyError {
	e.t.Helper()
	resp, err := e.s.Prewrite(&kvrpcpb.PrewriteRequest{Mutations: muts, PrimaryLock: muts[0].Key, StartVersion: start, LockTtl: ttl})
	e.check(err)
	return resp.Errors
}

func (e *env) commit(start, commit uint64, ks ...string) *kvrpcpb.KeyError {
	e.t.Helper()
	resp, err := e.s.Commit(&kvrpcpb.CommitRequest{StartVersion: start, CommitVersion: commit, Keys: keys(ks...)})
	e.check(err)
	return resp.Error
}

func (e *env) rollback(start uint64, ks ...string) *kvrpcpb.KeyError {
	e.t.Helper()
	resp, err := e.s.BatchRollback(&kvrpcpb.BatchRollbackRequest{StartVersion: start, Keys: keys(ks...)})
	e.check(err)
	return resp.Error
}

// txn prewrites and commits muts.
func (e *env) txn(start, commit uint64, muts ...*kvrpcpb.Mutation) {
	e.t.Helper()
	if errs := e.prewrite(start, 3000, muts...); len(errs) > 0 {
		e.t.Fatalf("prewrite: %v", errs)
	}
	var ks []string
	for _, m := range muts {
		ks = append(ks, string(m.Key))
	}
	if err := e.commit(start, commit, ks...); err != nil {
		e.t.Fatalf("commit: %v", err)
	}
}

func (e *env) status(primary string, lockTs, callerTs, currentTs uint64, rollbackIfNotExist bool) *kvrpcpb.CheckTxnStatusResponse {
	e.t.Helper()
	resp, err := e.s.CheckTxnStatus(&kvrpcpb.CheckTxnStatusRequest{
		PrimaryKey: []byte(primary), LockTs: lockTs, CallerStartTs: callerTs, CurrentTs: currentTs, RollbackIfNotExist: rollbackIfNotExist,
	})
	e.check(err)
	return resp
}

// read returns key at version as "value", "<none>" or the KeyError.
func (e *env) read(key string, version uint64) string {
	e.t.Helper()
	resp, err := e.s.Get(&kvrpcpb.GetRequest{Key: []byte(key), Version: version})
	e.check(err)
	switch {
	case resp.Error != nil:
		return describe(resp.Error)
	case resp.NotFound:
		return "<none>"
	}
	return string(resp.Value)
}

func (e *env) wantRead(key string, version uint64, want string) {
	e.t.Helper()
	if got := e.read(key, version); got != want {
		e.t.Fatalf("get %s@%d = %s, want %s", key, version, got, want)
	}
}

// locks lists the locks in the store as key@start.
func (e *env) locks() string {
	e.t.Helper()
	resp, err := e.s.ScanLock(&kvrpcpb.ScanLockRequest{MaxVersion: ^uint64(0)})
	e.check(err)
	var out []string
	for _, l := range resp.Locks {
		out = append(out, fmt.Sprintf("%s@%d", l.Key, l.LockVersion))
	}
	return strings.Join(out, " ")
}

// cfCount counts the engine keys of a column family ('d', 'l', 'w').
func (e *env) cfCount(cf byte) int {
	it, err := e.store.NewIterator(&backend.IterOptions{Prefix: []byte{cf}})
	e.check(err)
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}

// describe renders a KeyError compactly for comparisons.
func describe(ke *kvrpcpb.KeyError) string {
	switch {
	case ke == nil:
		return "ok"
	case ke.Locked != nil:
		return fmt.Sprintf("locked(%s@%d primary=%s ttl=%d)", ke.Locked.Key, ke.Locked.LockVersion, ke.Locked.PrimaryLock, ke.Locked.LockTtl)
	case ke.Conflict != nil:
		c := ke.Conflict
		return fmt.Sprintf("conflict(%s start=%d conflict=%d/%d primary=%s %s)", c.Key, c.StartTs, c.ConflictTs, c.ConflictCommitTs, c.Primary, c.Reason)
	case ke.AlreadyExist != nil:
		return fmt.Sprintf("already_exist(%s)", ke.AlreadyExist.Key)
	case ke.TxnNotFound != nil:
		return fmt.Sprintf("txn_not_found(%d %s)", ke.TxnNotFound.StartTs, ke.TxnNotFound.PrimaryKey)
	case ke.CommitTsExpired != nil:
		c := ke.CommitTsExpired
		return fmt.Sprintf("commit_ts_expired(%s start=%d attempted=%d min=%d)", c.Key, c.StartTs, c.AttemptedCommitTs, c.MinCommitTs)
	case ke.PrimaryMismatch != nil:
		return fmt.Sprintf("primary_mismatch(%s)", ke.PrimaryMismatch.LockInfo.PrimaryLock)
	case ke.Retryable != "":
		return "retryable(" + firstWord(ke.Retryable) + ")"
	case ke.Abort != "":
		return "abort(" + firstWord(ke.Abort) + ")"
	}
	return ke.String()
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, ": "); i > 0 {
		return s[:i]
	}
	return s
}

func describeAll(kes []*kvrpcpb.KeyError) string {
	if len(kes) == 0 {
		return "ok"
	}
	var out []string
	for _, ke := range kes {
		out = append(out, describe(ke))
	}
	return strings.Join(out, "; ")
}
