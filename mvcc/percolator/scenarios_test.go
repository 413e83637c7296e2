package percolator_test

import (
	"strings"
	"testing"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// scenario is one case of a command: setup builds the state, run performs
// the command and renders its outcome (the kvrpcpb error, or "ok"), after
// checks the state the command left.
type scenario struct {
	name  string
	setup func(e *env)
	run   func(e *env) string
	want  string
	after func(e *env)
}

func runScenarios(t *testing.T, cases []scenario) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.setup != nil {
				c.setup(e)
			}
			if got := c.run(e); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
			if c.after != nil {
				c.after(e)
			}
		})
	}
}

var big = strings.Repeat("v", 1000) // above the short-value limit

func TestPrewrite(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name: "clean keys",
			run:  func(e *env) string { return describeAll(e.prewrite(10, 100, put("a", "1"), del("b"), lockOp("c"))) },
			want: "ok",
			after: func(e *env) {
				if got := e.locks(); got != "a@10 b@10 c@10" {
					t.Fatalf("locks %s", got)
				}
			},
		},
		{
			name:  "over a newer commit",
			setup: func(e *env) { e.txn(10, 20, put("k", "v1")) },
			run:   func(e *env) string { return describeAll(e.prewrite(15, 100, put("p", "x"), put("k", "v2"))) },
			want:  "conflict(k start=15 conflict=10/20 primary=p Optimistic)",
			after: func(e *env) {
				if got := e.locks(); got != "" {
					t.Fatalf("a failed prewrite left locks: %s", got)
				}
			},
		},
		{
			name:  "over an older commit",
			setup: func(e *env) { e.txn(10, 20, put("k", "v1")) },
			run:   func(e *env) string { return describeAll(e.prewrite(30, 100, put("k", "v2"))) },
			want:  "ok",
		},
		{
			name:  "over a newer rollback of another transaction",
			setup: func(e *env) { e.rollback(40, "k") },
			run:   func(e *env) string { return describeAll(e.prewrite(30, 100, put("k", "v"))) },
			want:  "conflict(k start=30 conflict=40/40 primary=k Optimistic)",
		},
		{
			name:  "over another's lock",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1"), put("b", "1")) },
			run: func(e *env) string {
				return describeAll(e.prewrite(20, 100, put("c", "2"), put("a", "2"), put("b", "2")))
			},
			want: "locked(a@10 primary=a ttl=100); locked(b@10 primary=a ttl=100)",
			after: func(e *env) {
				if got := e.locks(); got != "a@10 b@10" {
					t.Fatalf("locked prewrite wrote: %s", got)
				}
			},
		},
		{
			name:  "over its own lock (a retry)",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1")) },
			run:   func(e *env) string { return describeAll(e.prewrite(10, 100, put("a", "1"), put("b", "1"))) },
			want:  "ok",
			after: func(e *env) {
				if got := e.locks(); got != "a@10 b@10" {
					t.Fatalf("locks %s", got)
				}
			},
		},
		{
			name:  "after its own rollback",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1")); e.rollback(10, "a") },
			run:   func(e *env) string { return describeAll(e.prewrite(10, 100, put("a", "1"))) },
			want:  "conflict(a start=10 conflict=10/10 primary=a SelfRolledBack)",
		},
		{
			name:  "insert over an existing key",
			setup: func(e *env) { e.txn(10, 20, put("k", "v")); e.txn(30, 40, lockOp("k")) },
			run:   func(e *env) string { return describeAll(e.prewrite(50, 100, insert("k", "w"))) },
			want:  "already_exist(k)",
		},
		{
			name:  "insert over a deleted key",
			setup: func(e *env) { e.txn(10, 20, put("k", "v")); e.txn(30, 40, del("k")) },
			run:   func(e *env) string { return describeAll(e.prewrite(50, 100, insert("k", "w"))) },
			want:  "ok",
			after: func(e *env) { e.commit(50, 60, "k"); e.wantRead("k", 70, "w") },
		},
		{
			name:  "check not exists on an existing key",
			setup: func(e *env) { e.txn(10, 20, put("k", "v")) },
			run:   func(e *env) string { return describeAll(e.prewrite(30, 100, put("p", "x"), notExists("k"))) },
			want:  "already_exist(k)",
		},
		{
			name: "check not exists on a missing key writes no lock",
			run:  func(e *env) string { return describeAll(e.prewrite(30, 100, put("p", "x"), notExists("k"))) },
			want: "ok",
			after: func(e *env) {
				if got := e.locks(); got != "p@30" {
					t.Fatalf("locks %s", got)
				}
			},
		},
		{
			name: "skip constraint check",
			setup: func(e *env) {
				e.txn(10, 20, put("k", "v"))
			},
			run: func(e *env) string {
				resp, err := e.s.Prewrite(&kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{put("k", "w")}, PrimaryLock: []byte("k"),
					StartVersion: 15, LockTtl: 100, SkipConstraintCheck: true})
				e.check(err)
				return describeAll(resp.Errors)
			},
			want: "ok",
		},
		{
			name: "pessimistic transactions are refused",
			run: func(e *env) string {
				resp, err := e.s.Prewrite(&kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{put("k", "w")}, PrimaryLock: []byte("k"),
					StartVersion: 15, ForUpdateTs: 15})
				e.check(err)
				return describeAll(resp.Errors)
			},
			want: "abort(pessimistic)",
		},
		{
			name: "large values go to the default family",
			run:  func(e *env) string { return describeAll(e.prewrite(10, 100, put("k", big), put("s", "small"))) },
			want: "ok",
			after: func(e *env) {
				if n := e.cfCount('d'); n != 1 {
					t.Fatalf("%d default-family values, want 1", n)
				}
				e.commit(10, 20, "k", "s")
				e.wantRead("k", 20, big)
				e.wantRead("s", 20, "small")
			},
		},
	})
}

func TestCommit(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name:  "prewritten keys",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1"), del("b"), lockOp("c")) },
			run:   func(e *env) string { return describe(e.commit(10, 20, "a", "b", "c")) },
			want:  "ok",
			after: func(e *env) {
				e.wantRead("a", 19, "<none>")
				e.wantRead("a", 20, "1")
				e.wantRead("b", 20, "<none>")
				if got := e.locks(); got != "" {
					t.Fatalf("locks left: %s", got)
				}
			},
		},
		{
			name:  "a retry after success",
			setup: func(e *env) { e.txn(10, 20, put("a", "1")) },
			run:   func(e *env) string { return describe(e.commit(10, 20, "a")) },
			want:  "ok",
		},
		{
			name:  "a rolled-back transaction",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1")); e.rollback(10, "a") },
			run:   func(e *env) string { return describe(e.commit(10, 20, "a")) },
			want:  "retryable(TxnLockNotFound)",
			after: func(e *env) { e.wantRead("a", 30, "<none>") },
		},
		{
			name: "a key never prewritten",
			run:  func(e *env) string { return describe(e.commit(10, 20, "a")) },
			want: "retryable(TxnLockNotFound)",
		},
		{
			name:  "a key locked by another transaction",
			setup: func(e *env) { e.prewrite(15, 100, put("a", "1")) },
			run:   func(e *env) string { return describe(e.commit(10, 20, "a")) },
			want:  "retryable(TxnLockNotFound)",
		},
		{
			name:  "commit ts not above start ts",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1")) },
			run:   func(e *env) string { return describe(e.commit(10, 10, "a")) },
			want:  "abort(InvalidTxnTso)",
		},
		{
			name: "below min_commit_ts",
			setup: func(e *env) {
				_, err := e.s.Prewrite(&kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{put("a", "1")}, PrimaryLock: []byte("a"),
					StartVersion: 10, LockTtl: 100, MinCommitTs: 30})
				e.check(err)
			},
			run:   func(e *env) string { return describe(e.commit(10, 20, "a")) },
			want:  "commit_ts_expired(a start=10 attempted=20 min=30)",
			after: func(e *env) { e.wantRead("a", 99, "locked(a@10 primary=a ttl=100)") },
		},
		{
			name:  "one bad key commits nothing",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1")) },
			run:   func(e *env) string { return describe(e.commit(10, 20, "a", "b")) },
			want:  "retryable(TxnLockNotFound)",
			after: func(e *env) {
				if got := e.locks(); got != "a@10" {
					t.Fatalf("locks %s", got)
				}
			},
		},
		{
			name: "at the start ts of a rolled-back transaction keeps its protection",
			setup: func(e *env) {
				e.prewrite(10, 100, put("k", "v"))
				e.rollback(30, "k") // txn 30 is rolled back on k, which txn 10 holds
			},
			run:  func(e *env) string { return describe(e.commit(10, 30, "k")) },
			want: "ok",
			after: func(e *env) {
				e.wantRead("k", 30, "v")
				if got := describeAll(e.prewrite(30, 100, put("k", "late"))); got != "conflict(k start=30 conflict=10/30 primary=k SelfRolledBack)" {
					t.Fatalf("late prewrite of the rolled-back txn: %s", got)
				}
				if r := e.status("k", 30, 0, ts(1, 0), false); r.Error != nil || r.CommitVersion != 0 || r.LockTtl != 0 {
					t.Fatalf("status of the rolled-back txn: %v", r)
				}
			},
		},
	})
}

func TestBatchRollback(t *testing.T) {
	runScenarios(t, []scenario{
		{
			name:  "locked keys",
			setup: func(e *env) { e.prewrite(10, 100, put("a", big), put("b", "1")) },
			run:   func(e *env) string { return describe(e.rollback(10, "a", "b")) },
			want:  "ok",
			after: func(e *env) {
				if e.locks() != "" || e.cfCount('d') != 0 {
					t.Fatalf("locks %q, %d values left", e.locks(), e.cfCount('d'))
				}
				if got := describe(e.commit(10, 20, "a")); got != "retryable(TxnLockNotFound)" {
					t.Fatalf("commit after rollback: %s", got)
				}
				if got := describeAll(e.prewrite(10, 100, put("b", "1"))); !strings.Contains(got, "SelfRolledBack") {
					t.Fatalf("prewrite after rollback: %s", got)
				}
			},
		},
		{
			name:  "a committed transaction",
			setup: func(e *env) { e.txn(10, 20, put("a", "1")); e.prewrite(10, 100, put("b", "1")) },
			run:   func(e *env) string { return describe(e.rollback(10, "b", "a")) },
			want:  "abort(Committed)",
			after: func(e *env) {
				e.wantRead("a", 20, "1")
				if got := e.locks(); got != "b@10" {
					t.Fatalf("a failed rollback wrote: locks %q", got)
				}
			},
		},
		{
			name:  "twice",
			setup: func(e *env) { e.prewrite(10, 100, put("a", "1")); e.rollback(10, "a") },
			run:   func(e *env) string { return describe(e.rollback(10, "a")) },
			want:  "ok",
		},
		{
			name: "a key never locked leaves a protective record",
			run:  func(e *env) string { return describe(e.rollback(10, "a")) },
			want: "ok",
			after: func(e *env) {
				if got := describeAll(e.prewrite(10, 100, put("a", "late"))); !strings.Contains(got, "SelfRolledBack") {
					t.Fatalf("late prewrite: %s", got)
				}
			},
		},
		{
			name:  "a key another transaction holds",
			setup: func(e *env) { e.prewrite(20, 100, put("a", "2")) },
			run:   func(e *env) string { return describe(e.rollback(10, "a")) },
			want:  "ok",
			after: func(e *env) {
				if got := e.locks(); got != "a@20" {
					t.Fatalf("locks %s", got)
				}
				e.commit(20, 30, "a")
				e.wantRead("a", 30, "2")
			},
		},
		{
			name:  "at a ts where another transaction committed",
			setup: func(e *env) { e.txn(10, 30, put("k", "v")) },
			run:   func(e *env) string { return describe(e.rollback(30, "k")) },
			want:  "ok",
			after: func(e *env) {
				e.wantRead("k", 30, "v") // the commit record keeps its data
				if got := describeAll(e.prewrite(30, 100, put("k", "late"))); !strings.Contains(got, "SelfRolledBack") {
					t.Fatalf("late prewrite: %s", got)
				}
				if r := e.status("k", 10, 0, ts(1, 0), false); r.CommitVersion != 30 {
					t.Fatalf("the overlapped commit lost: %v", r)
				}
			},
		},
	})
}

func TestCheckTxnStatus(t *testing.T) {
	start := ts(1000, 0)
	render := func(r *kvrpcpb.CheckTxnStatusResponse) string {
		if r.Error != nil {
			return describe(r.Error)
		}
		s := "ttl=" + itoa(r.LockTtl) + " commit=" + itoa(r.CommitVersion) + " " + r.Action.String()
		if r.LockInfo != nil {
			s += " lock=" + string(r.LockInfo.Key)
		}
		return s
	}
	runScenarios(t, []scenario{
		{
			name:  "a live lock",
			setup: func(e *env) { e.prewrite(start, 100, put("p", "1"), put("s", "1")) },
			run:   func(e *env) string { return render(e.status("p", start, start+1, ts(1050, 0), false)) },
			want:  "ttl=100 commit=0 NoAction lock=p",
			after: func(e *env) {
				if got := e.locks(); got != "p@"+itoa(start)+" s@"+itoa(start) {
					t.Fatalf("locks %s", got)
				}
			},
		},
		{
			name:  "an expired lock",
			setup: func(e *env) { e.prewrite(start, 100, put("p", "1"), put("s", "1")) },
			run:   func(e *env) string { return render(e.status("p", start, start+1, ts(1101, 0), false)) },
			want:  "ttl=0 commit=0 TTLExpireRollback",
			after: func(e *env) {
				if got := e.locks(); got != "s@"+itoa(start) {
					t.Fatalf("locks %s", got)
				}
				if got := describe(e.commit(start, start+10, "p", "s")); got != "retryable(TxnLockNotFound)" {
					t.Fatalf("commit of an expired txn: %s", got)
				}
			},
		},
		{
			name: "a missing lock",
			run:  func(e *env) string { return render(e.status("p", start, start+1, ts(1050, 0), false)) },
			want: "txn_not_found(" + itoa(start) + " p)",
			after: func(e *env) {
				if got := describeAll(e.prewrite(start, 100, put("p", "1"))); got != "ok" {
					t.Fatalf("TxnNotFound must not write a rollback: %s", got)
				}
			},
		},
		{
			name: "a missing lock, rolled back",
			run:  func(e *env) string { return render(e.status("p", start, start+1, ts(1050, 0), true)) },
			want: "ttl=0 commit=0 LockNotExistRollback",
			after: func(e *env) {
				if got := describeAll(e.prewrite(start, 100, put("p", "1"))); !strings.Contains(got, "SelfRolledBack") {
					t.Fatalf("late prewrite: %s", got)
				}
			},
		},
		{
			name:  "a committed transaction",
			setup: func(e *env) { e.txn(start, start+5, put("p", "1")) },
			run:   func(e *env) string { return render(e.status("p", start, start+9, ts(5000, 0), true)) },
			want:  "ttl=0 commit=" + itoa(start+5) + " NoAction",
		},
		{
			name:  "a rolled-back transaction",
			setup: func(e *env) { e.prewrite(start, 100, put("p", "1")); e.rollback(start, "p") },
			run:   func(e *env) string { return render(e.status("p", start, start+9, ts(5000, 0), true)) },
			want:  "ttl=0 commit=0 NoAction",
		},
		{
			name:  "another transaction's lock on the primary",
			setup: func(e *env) { e.prewrite(start+7, 100, put("p", "1")) },
			run:   func(e *env) string { return render(e.status("p", start, start+9, ts(1050, 0), false)) },
			want:  "txn_not_found(" + itoa(start) + " p)",
		},
		{
			name: "min_commit_ts pushed past the caller",
			setup: func(e *env) {
				_, err := e.s.Prewrite(&kvrpcpb.PrewriteRequest{Mutations: []*kvrpcpb.Mutation{put("p", "1")}, PrimaryLock: []byte("p"),
					StartVersion: start, LockTtl: 100, MinCommitTs: start + 1})
				e.check(err)
			},
			run:  func(e *env) string { return render(e.status("p", start, start+50, ts(1001, 0), false)) },
			want: "ttl=100 commit=0 MinCommitTSPushed lock=p",
			after: func(e *env) {
				// The caller may now read around the lock at its start ts...
				e.wantRead("p", start+50, "<none>")
				// ...because the transaction can no longer commit below it.
				if got := describe(e.commit(start, start+40, "p")); got != "commit_ts_expired(p start="+itoa(start)+" attempted="+itoa(start+40)+" min="+itoa(ts(1001, 0))+")" {
					t.Fatalf("commit below the pushed min_commit_ts: %s", got)
				}
				if got := describe(e.commit(start, ts(1002, 0), "p")); got != "ok" {
					t.Fatalf("commit above it: %s", got)
				}
			},
		},
		{
			name:  "verify is primary",
			setup: func(e *env) { e.prewrite(start, 100, put("p", "1"), put("s", "1")) },
			run: func(e *env) string {
				r, err := e.s.CheckTxnStatus(&kvrpcpb.CheckTxnStatusRequest{PrimaryKey: []byte("s"), LockTs: start, CurrentTs: start, VerifyIsPrimary: true})
				e.check(err)
				return render(r)
			},
			want: "primary_mismatch(p)",
		},
		{
			name:  "heartbeat extends the TTL of a live lock",
			setup: func(e *env) { e.prewrite(start, 100, put("p", "1")) },
			run: func(e *env) string {
				r, err := e.s.TxnHeartBeat(&kvrpcpb.TxnHeartBeatRequest{PrimaryLock: []byte("p"), StartVersion: start, AdviseLockTtl: 500})
				e.check(err)
				return describe(r.Error) + " ttl=" + itoa(r.LockTtl)
			},
			want: "ok ttl=500",
			after: func(e *env) {
				if got := render(e.status("p", start, start+1, ts(1200, 0), false)); got != "ttl=500 commit=0 NoAction lock=p" {
					t.Fatalf("after heartbeat: %s", got)
				}
			},
		},
	})
}

func TestResolveLock(t *testing.T) {
	// t1 (10) locked a b c with primary a and committed a at 20; t2 (15)
	// locked d e and died; t3 (17) holds f and is alive.
	mixed := func(e *env) {
		e.prewrite(10, 100, put("a", "1"), put("b", big), del("c"))
		e.commit(10, 20, "a")
		e.prewrite(15, 100, put("d", "2"), put("e", big))
		e.prewrite(17, 100, put("f", "3"))
	}
	resolve := func(e *env, req *kvrpcpb.ResolveLockRequest) string {
		r, err := e.s.ResolveLock(req)
		e.check(err)
		return describe(r.Error)
	}
	runScenarios(t, []scenario{
		{
			name:  "commit every lock of a transaction",
			setup: mixed,
			run: func(e *env) string {
				return resolve(e, &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 20})
			},
			want: "ok",
			after: func(e *env) {
				if got := e.locks(); got != "d@15 e@15 f@17" {
					t.Fatalf("locks %s", got)
				}
				e.wantRead("b", 20, big)
				e.wantRead("c", 20, "<none>")
			},
		},
		{
			name:  "roll back every lock of a transaction",
			setup: mixed,
			run:   func(e *env) string { return resolve(e, &kvrpcpb.ResolveLockRequest{StartVersion: 15}) },
			want:  "ok",
			after: func(e *env) {
				if got := e.locks(); got != "b@10 c@10 f@17" {
					t.Fatalf("locks %s", got)
				}
				if n := e.cfCount('d'); n != 1 { // b's value stays, e's is gone
					t.Fatalf("%d values", n)
				}
			},
		},
		{
			name:  "several transactions at once",
			setup: mixed,
			run: func(e *env) string {
				return resolve(e, &kvrpcpb.ResolveLockRequest{TxnInfos: []*kvrpcpb.TxnInfo{{Txn: 10, Status: 20}, {Txn: 15, Status: 0}}})
			},
			want: "ok",
			after: func(e *env) {
				if got := e.locks(); got != "f@17" {
					t.Fatalf("locks %s", got)
				}
				e.wantRead("a", 30, "1")
				e.wantRead("b", 30, big)
				e.wantRead("d", 30, "<none>")
				e.wantRead("f", 30, "locked(f@17 primary=f ttl=100)")
			},
		},
		{
			name:  "given keys only",
			setup: mixed,
			run: func(e *env) string {
				return resolve(e, &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 20, Keys: keys("b")})
			},
			want: "ok",
			after: func(e *env) {
				if got := e.locks(); got != "c@10 d@15 e@15 f@17" {
					t.Fatalf("locks %s", got)
				}
			},
		},
		{
			name:  "commit of a rolled-back key",
			setup: func(e *env) { mixed(e); e.rollback(10, "b") },
			run: func(e *env) string {
				return resolve(e, &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 20, Keys: keys("c", "b")})
			},
			want: "retryable(TxnLockNotFound)",
			after: func(e *env) {
				if got := e.locks(); got != "c@10 d@15 e@15 f@17" {
					t.Fatalf("a failed resolve wrote: %s", got)
				}
			},
		},
		{
			name:  "commit ts not above start ts",
			setup: mixed,
			run: func(e *env) string {
				return resolve(e, &kvrpcpb.ResolveLockRequest{StartVersion: 10, CommitVersion: 5})
			},
			want: "abort(InvalidTxnTso)",
		},
	})
}

func TestReads(t *testing.T) {
	setup := func(e *env) {
		e.txn(10, 20, put("a", "a1"), put("b", "b1"), put("c", "c1"), put("d", big))
		e.txn(30, 40, put("a", "a2"), del("b"))
		e.prewrite(50, 100, put("c", "c3"), put("e", "e3"))       // live, primary c
		e.prewrite(60, 100, lockOp("d"))                          // Lock-type: never blocks
		e.prewrite(70, 100, put("a\x00", "x"), put("a\xff", "y")) // keys next to "a"
	}
	get := func(key string, version uint64, ctx *kvrpcpb.Context) func(e *env) string {
		return func(e *env) string {
			r, err := e.s.Get(&kvrpcpb.GetRequest{Key: []byte(key), Version: version, Context: ctx, NeedCommitTs: true})
			e.check(err)
			switch {
			case r.Error != nil:
				return describe(r.Error)
			case r.NotFound:
				return "<none>"
			}
			return string(r.Value) + "@" + itoa(r.CommitTs)
		}
	}
	scan := func(req *kvrpcpb.ScanRequest) func(e *env) string {
		return func(e *env) string {
			r, err := e.s.Scan(req)
			e.check(err)
			var out []string
			for _, p := range r.Pairs {
				if p.Error != nil {
					out = append(out, describe(p.Error))
				} else {
					out = append(out, string(p.Key)+"="+string(p.Value))
				}
			}
			return strings.Join(out, " ")
		}
	}
	short := func(s string) string { return strings.ReplaceAll(s, big, "<big>") }
	runScenarios(t, []scenario{
		{name: "get before the first commit", setup: setup, run: get("a", 15, nil), want: "<none>"},
		{name: "get an old version", setup: setup, run: get("a", 25, nil), want: "a1@20"},
		{name: "get the newest", setup: setup, run: get("a", 45, nil), want: "a2@40"},
		{name: "get a deleted key", setup: setup, run: get("b", 45, nil), want: "<none>"},
		{name: "get a large value", setup: setup, run: func(e *env) string { return short(get("d", 99, nil)(e)) }, want: "<big>@20"},
		{name: "get through a live lock", setup: setup, run: get("c", 55, nil), want: "locked(c@50 primary=c ttl=100)"},
		{name: "get below a lock", setup: setup, run: get("c", 45, nil), want: "c1@20"},
		{name: "get newest of a primary ignores its lock", setup: setup, run: get("c", ^uint64(0), nil), want: "c1@20"},
		{name: "get newest of a secondary is blocked", setup: setup, run: get("e", ^uint64(0), nil), want: "locked(e@50 primary=c ttl=100)"},
		{name: "get with the lock resolved", setup: setup, run: get("c", 55, &kvrpcpb.Context{ResolvedLocks: []uint64{50}}), want: "c1@20"},
		{name: "get with the lock committed", setup: setup, run: get("c", 55, &kvrpcpb.Context{CommittedLocks: []uint64{50}}), want: "c3@0"},
		{name: "get read-committed", setup: setup, run: get("c", 55, &kvrpcpb.Context{IsolationLevel: kvrpcpb.IsolationLevel_RC}), want: "c1@20"},
		{
			name: "scan forward", setup: setup,
			run:  func(e *env) string { return short(scan(&kvrpcpb.ScanRequest{Version: 55, Limit: 100})(e)) },
			want: "a=a2 locked(c@50 primary=c ttl=100) d=<big> locked(e@50 primary=c ttl=100)",
		},
		{
			name: "scan reverse with bounds", setup: setup,
			run:  scan(&kvrpcpb.ScanRequest{Version: 55, Limit: 100, StartKey: []byte("d"), EndKey: []byte("a"), Reverse: true}),
			want: "locked(c@50 primary=c ttl=100) a=a2",
		},
		{
			name: "scan keys only with a limit", setup: setup,
			run:  scan(&kvrpcpb.ScanRequest{Version: 45, Limit: 3, KeyOnly: true}),
			want: "a= c= d=",
		},
		{
			name: "scan around prefix keys", setup: setup,
			run:  scan(&kvrpcpb.ScanRequest{Version: 75, Limit: 3, StartKey: []byte("a"), EndKey: []byte("b")}),
			want: "a=a2 locked(a\x00@70 primary=a\x00 ttl=100) locked(a\xff@70 primary=a\x00 ttl=100)",
		},
		{
			name: "scan at an old version", setup: setup,
			run:  func(e *env) string { return short(scan(&kvrpcpb.ScanRequest{Version: 25, Limit: 10})(e)) },
			want: "a=a1 b=b1 c=c1 d=<big>",
		},
		{
			name: "scan with a zero limit", setup: setup,
			run:  scan(&kvrpcpb.ScanRequest{Version: 25}),
			want: "",
		},
		{
			name: "batch get", setup: setup,
			run: func(e *env) string {
				r, err := e.s.BatchGet(&kvrpcpb.BatchGetRequest{Keys: keys("a", "b", "c", "zz"), Version: 55})
				e.check(err)
				var out []string
				for _, p := range r.Pairs {
					if p.Error != nil {
						out = append(out, describe(p.Error))
					} else {
						out = append(out, string(p.Key)+"="+string(p.Value))
					}
				}
				return strings.Join(out, " ")
			},
			want: "a=a2 locked(c@50 primary=c ttl=100)",
		},
	})
}

func itoa(v uint64) string {
	const digits = "0123456789"
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{digits[v%10]}, b...)
	}
	return string(b)
}

func TestCleanup(t *testing.T) {
	start := ts(1000, 0)
	cleanup := func(key string, startTs, currentTs uint64) func(e *env) string {
		return func(e *env) string {
			r, err := e.s.Cleanup(&kvrpcpb.CleanupRequest{Key: []byte(key), StartVersion: startTs, CurrentTs: currentTs})
			e.check(err)
			return describe(r.Error) + " commit=" + itoa(r.CommitVersion)
		}
	}
	runScenarios(t, []scenario{
		{
			name:  "a live lock is left alone",
			setup: func(e *env) { e.prewrite(start, 100, put("k", "v")) },
			run:   cleanup("k", start, ts(1050, 0)),
			want:  "locked(k@" + itoa(start) + " primary=k ttl=100) commit=0",
		},
		{
			name:  "an expired lock is rolled back",
			setup: func(e *env) { e.prewrite(start, 100, put("k", "v")) },
			run:   cleanup("k", start, ts(1200, 0)),
			want:  "ok commit=0",
			after: func(e *env) {
				if e.locks() != "" {
					t.Fatal("lock left")
				}
			},
		},
		{
			name:  "a committed key reports its commit ts",
			setup: func(e *env) { e.txn(start, start+5, put("k", "v")) },
			run:   cleanup("k", start, ts(1200, 0)),
			want:  "ok commit=" + itoa(start+5),
		},
	})
}
