package backend

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv/compaction"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// idlePolicy never plans: tests drive compactions with hand-made plans
// through compactWith.
type idlePolicy struct{}

func (idlePolicy) Name() string                                     { return "idle" }
func (idlePolicy) Pick(*iface.LevelsSnapshot) *iface.CompactionPlan { return nil }
func (idlePolicy) NumLevels() int                                   { return 7 }

func ingestOptions(fs vfs.FS) *Options {
	return &Options{
		FS:                    fs,
		MemtableSize:          64 << 10,
		TargetTableSize:       4 << 10,
		LogSegmentSize:        32 << 10,
		BlockCacheSize:        1 << 20,
		ValueThreshold:        64,
		Logger:                hclog.NewNullLogger(),
		CompactionPolicy:      idlePolicy{},
		DisableBackgroundWork: true,
		MaxSubcompactions:     4,
	}
}

// openIngest opens a store and checks it with Check when the test ends.
func openIngest(t *testing.T, fs vfs.FS, o *Options) *DB {
	t.Helper()
	db, err := Open("/db", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, iface.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		for _, p := range Check("/db", o) {
			t.Errorf("check: %v", p)
		}
	})
	return db
}

// ingestModel is what a store must read back.
type ingestModel map[string]string

// fillTables writes n flushes of overlapping keys into L0; key i of flush f
// gets value "f<f>-<i>", every third key of the last flush is deleted.
func fillTables(t *testing.T, db *DB, m ingestModel, flushes, keys, from int) {
	t.Helper()
	for f := from; f < from+flushes; f++ {
		for i := 0; i < keys; i++ {
			k := fmt.Sprintf("k%04d", (i*7+f*13)%(keys*2))
			if f == from+flushes-1 && i%3 == 0 {
				if err := db.Delete([]byte(k), nil); err != nil {
					t.Fatal(err)
				}
				delete(m, k)
				continue
			}
			v := fmt.Sprintf("f%d-%d-%s", f, i, bytes.Repeat([]byte("x"), 40))
			if err := db.Set([]byte(k), []byte(v), nil); err != nil {
				t.Fatal(err)
			}
			m[k] = v
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

// readSource is a DB or a snapshot.
type readSource interface {
	Get([]byte) ([]byte, error)
	NewIterator(*IterOptions) (*Iterator, error)
}

func expectModel(t *testing.T, src readSource, m ingestModel, ctx string) {
	t.Helper()
	it, err := src.NewIterator(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := ingestModel{}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			t.Fatalf("%s: value of %q: %v", ctx, it.Key(), err)
		}
		got[string(it.Key())] = string(v)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, m) {
		var diff []string
		for k, v := range m {
			if got[k] != v {
				diff = append(diff, fmt.Sprintf("%s: got %.12q want %.12q", k, got[k], v))
			}
		}
		for k := range got {
			if _, ok := m[k]; !ok {
				diff = append(diff, fmt.Sprintf("%s: got %.12q want nothing", k, got[k]))
			}
		}
		sort.Strings(diff)
		t.Fatalf("%s: scan differs from the model (%d keys vs %d): %v", ctx, len(got), len(m), diff[:min(len(diff), 8)])
	}
	for k, v := range m {
		g, err := src.Get([]byte(k))
		if err != nil || string(g) != v {
			t.Fatalf("%s: Get(%q) = %.12q, %v; want %.12q", ctx, k, g, err, v)
		}
	}
	for i := 0; i < 200; i++ {
		k := fmt.Sprintf("k%04d", i)
		if _, ok := m[k]; !ok {
			if g, err := src.Get([]byte(k)); !errors.Is(err, iface.ErrNotFound) {
				t.Fatalf("%s: Get(%q) of a deleted or missing key = %.12q, %v", ctx, k, g, err)
			}
		}
	}
}

// planned runs plan through the executor and fails the test unless it ran.
func planned(t *testing.T, db *DB, plan *iface.CompactionPlan) {
	t.Helper()
	did, err := db.compactWith(func(*iface.LevelsSnapshot) *iface.CompactionPlan { return plan })
	if err != nil || !did {
		t.Fatalf("plan %+v: did %v, err %v", plan, did, err)
	}
}

func snap(db *DB) *iface.LevelsSnapshot {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.current.snapshot(nil)
}

func ids(ts []iface.TableMeta) []uint64 {
	var out []uint64
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// oldestL0 returns the n oldest L0 tables.
func oldestL0(s *iface.LevelsSnapshot, n int) []uint64 {
	l0 := ids(s.Levels[0])
	return l0[len(l0)-n:]
}

// TestIngestBufferLifecycle carries L0 tables through an ingest buffer with
// hand-made plans (move into shards, merge inside a shard, drain a shard into
// the main run under it, move within the buffer), reading everything back
// through the DB and through a snapshot taken at the start after every step,
// and after a reopen.
func TestIngestBufferLifecycle(t *testing.T) {
	fs := vfs.NewMem()
	o := ingestOptions(fs)
	db := openIngest(t, fs, o)
	m := ingestModel{}
	fillTables(t, db, m, 2, 150, 0)
	planned(t, db, &iface.CompactionPlan{Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(db).Levels[0])}}, OutputLevel: 6})
	fillTables(t, db, m, 4, 150, 2)
	old := maps.Clone(m)
	sn := db.NewSnapshot()
	defer sn.Release()
	fillTables(t, db, m, 2, 150, 6) // 6 L0 tables; the oldest four are read by the snapshot
	step := func(name string, plan *iface.CompactionPlan) {
		t.Helper()
		planned(t, db, plan)
		expectModel(t, db, m, name)
		expectModel(t, sn, old, name+" (snapshot)")
	}

	s := snap(db)
	l0 := ids(s.Levels[0])
	step("move two into shard 0", &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true,
		Inputs: []iface.CompactionInput{{Level: 0, Tables: oldestL0(s, 2)}}})
	s = snap(db)
	if got := ids(s.Ingest[6][0]); !slices.Equal(got, l0[len(l0)-2:]) {
		t.Fatalf("shard 0 = %v, want %v (newest first)", got, l0[len(l0)-2:])
	}
	step("move two into shard 1", &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true, OutputShard: 1,
		Inputs: []iface.CompactionInput{{Level: 0, Tables: oldestL0(s, 2)}}})
	s = snap(db)
	shard1 := ids(s.Ingest[6][1])
	maxSeq := max(s.Ingest[6][1][0].OrderSeq(), s.Ingest[6][1][1].OrderSeq())
	step("merge inside shard 1", &iface.CompactionPlan{OutputLevel: 6, OutputIngest: true, OutputShard: 1,
		Inputs: []iface.CompactionInput{{Level: 6, Ingest: true, Shard: 1, Tables: shard1}}})
	s = snap(db)
	for _, tm := range s.Ingest[6][1] {
		if tm.Seq != maxSeq || slices.Contains(shard1, tm.ID) {
			t.Fatalf("merge inside shard 1: output %d has seq %d, want %d", tm.ID, tm.Seq, maxSeq)
		}
	}
	// Tombstones of the merged shard shadow the main run: they stay.
	var dels uint64
	for _, tm := range s.Ingest[6][1] {
		dels += tm.Deletions
	}
	if dels == 0 {
		t.Fatal("merge inside shard 1 dropped the tombstones that shadow the main run")
	}
	step("drain shard 0 into the main run", &iface.CompactionPlan{OutputLevel: 6,
		Inputs: []iface.CompactionInput{{Level: 6, Ingest: true, Shard: 0, Tables: ids(s.Ingest[6][0])}, {Level: 6, Tables: ids(s.Levels[6])}}})
	s = snap(db)
	step("move shard 1 to shard 3", &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true, OutputShard: 3,
		Inputs: []iface.CompactionInput{{Level: 6, Ingest: true, Shard: 1, Tables: ids(s.Ingest[6][1])}}})
	s = snap(db)
	if len(s.Ingest[6]) != 4 || len(s.Ingest[6][0])+len(s.Ingest[6][1])+len(s.Ingest[6][2]) != 0 {
		t.Fatalf("after the moves the buffer is %+v", s.Ingest[6])
	}
	step("move the rest of L0 into L5's buffer", &iface.CompactionPlan{Move: true, OutputLevel: 5, OutputIngest: true,
		Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(s.Levels[0])}}})

	// Reopen: the buffers and their order survive.
	before := snap(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openIngest(t, fs, o)
	after := snap(db)
	if fmt.Sprint(after.Ingest) != fmt.Sprint(before.Ingest) || fmt.Sprint(after.Levels) != fmt.Sprint(before.Levels) {
		t.Fatalf("reopen changed the tree:\n%+v\n%+v", before, after)
	}
	expectModel(t, db, m, "after reopen")

	// Drain everything: the last level's tombstones go, the data stays.
	s = snap(db)
	planned(t, db, &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{
		{Level: 5, Ingest: true, Tables: ids(s.Ingest[5][0])},
		{Level: 6, Ingest: true, Shard: 3, Tables: ids(s.Ingest[6][3])},
		{Level: 6, Tables: ids(s.Levels[6])}}})
	s = snap(db)
	for _, tm := range s.Levels[6] {
		if tm.Deletions != 0 {
			t.Fatalf("table %d at the last level keeps %d tombstones with nothing below", tm.ID, tm.Deletions)
		}
	}
	if len(s.Ingest) != 0 && fmt.Sprint(s.Ingest) != "[[] [] [] [] [] [] []]" {
		t.Fatalf("buffers left after the drain: %+v", s.Ingest)
	}
	expectModel(t, db, m, "after the final drain")
}

// TestExecutorRefusesBadPlans: plans that would break the read-path
// invariant are errors, not silent damage.
func TestExecutorRefusesBadPlans(t *testing.T) {
	for name, mk := range map[string]func(s *iface.LevelsSnapshot) *iface.CompactionPlan{
		"overlapping move into a main run": func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
			return &iface.CompactionPlan{Move: true, OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(s.Levels[0])}}}
		},
		"main run into its own buffer": func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
			return &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true, Inputs: []iface.CompactionInput{{Level: 6, Tables: ids(s.Levels[6])}}}
		},
		"table in the wrong shard": func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
			return &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Ingest: true, Tables: ids(s.Levels[0])}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			fs := vfs.NewMem()
			o := ingestOptions(fs)
			db := openIngest(t, fs, o)
			m := ingestModel{}
			fillTables(t, db, m, 1, 100, 0)
			planned(t, db, &iface.CompactionPlan{Move: true, OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(db).Levels[0])}}})
			fillTables(t, db, m, 2, 100, 1)
			before := snap(db)
			if _, err := db.compactWith(mk); err == nil {
				t.Fatal("the plan ran")
			}
			if fmt.Sprint(snap(db)) != fmt.Sprint(before) {
				t.Fatal("a refused plan changed the tree")
			}
			expectModel(t, db, m, "after the refused plan")
		})
	}
}

// TestCompactionStateRefusesOverlap: with a compaction registered in
// compaction.State, the executor refuses plans that share its tables or
// write into its output range at the same output, and runs the others.
func TestCompactionStateRefusesOverlap(t *testing.T) {
	fs := vfs.NewMem()
	o := ingestOptions(fs)
	db := openIngest(t, fs, o)
	m := ingestModel{}
	fillTables(t, db, m, 2, 150, 0)
	planned(t, db, &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true,
		Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(db).Levels[0])}}})
	fillTables(t, db, m, 3, 150, 2)
	s := snap(db)
	l0 := s.Levels[0]
	// As if L0's two oldest tables were being merged into L6's main run.
	running, err := db.compactions.Start([]iface.TableMeta{l0[1], l0[2]}, compaction.Output{Level: 6})
	if err != nil {
		t.Fatal(err)
	}
	try := func(plan *iface.CompactionPlan) bool {
		did, err := db.compactWith(func(*iface.LevelsSnapshot) *iface.CompactionPlan { return plan })
		if err != nil {
			t.Fatal(err)
		}
		return did
	}
	if try(&iface.CompactionPlan{OutputLevel: 5, Inputs: []iface.CompactionInput{{Level: 0, Tables: []uint64{l0[2].ID}}}}) {
		t.Fatal("a plan naming a busy table ran")
	}
	if try(&iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Tables: []uint64{l0[0].ID}}}}) {
		t.Fatal("a plan writing into a running compaction's output range ran")
	}
	if !try(&iface.CompactionPlan{OutputLevel: 6, OutputIngest: true,
		Inputs: []iface.CompactionInput{{Level: 6, Ingest: true, Tables: ids(s.Ingest[6][0])}}}) {
		t.Fatal("a merge inside the buffer above a running compaction's output was refused")
	}
	db.finishCompaction(running)
	if db.compactions.Running() != 0 || len(db.compactions.Busy()) != 0 {
		t.Fatal("compactions still registered after the plans")
	}
	expectModel(t, db, m, "after the plans")
}

// TestSubcompactions: a merge of many tables runs as parallel parts whose
// outputs form one sorted run installed by one edit, reading back the same;
// a failure in one part leaves no output behind and changes nothing.
func TestSubcompactions(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			mem := vfs.NewMem()
			var armed atomic.Bool
			var creates atomic.Int32 // the parts create tables concurrently
			efs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, name string) error {
				if armed.Load() && op == vfs.OpCreate && strings.HasSuffix(name, ".sst") {
					if creates.Add(1) == 3 {
						return fmt.Errorf("injected: %w", iface.ErrCorruption)
					}
				}
				return nil
			}))
			o := ingestOptions(efs)
			db := openIngest(t, mem, o)
			m := ingestModel{}
			fillTables(t, db, m, 2, 400, 0)
			planned(t, db, &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(db).Levels[0])}}})
			fillTables(t, db, m, 3, 400, 2)
			s := snap(db)
			plan := &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(s.Levels[0])}, {Level: 6, Tables: ids(s.Levels[6])}}}
			inputs, err := db.resolvePlan(db.current, plan)
			if err != nil {
				t.Fatal(err)
			}
			var in int64
			for _, ts := range inputs {
				for _, h := range ts {
					in += h.meta.Size
				}
			}
			// Parts of at least two target table sizes, at most MaxSubcompactions.
			parts := func(n int64) int { return int(min(int64(o.MaxSubcompactions), n/(2*o.TargetTableSize))) }
			bounds := db.subcompactionBounds(inputs, in)
			if parts(in) < 2 || len(bounds) != parts(in)-1 {
				t.Fatalf("a merge of %d bytes over %d tables splits at %q, want %d parts", in, len(s.Levels[6])+len(s.Levels[0]), bounds, parts(in))
			}
			// Three wide L0 tables alone split as finely.
			var l0 int64
			for _, h := range inputs[0] {
				l0 += h.meta.Size
			}
			if b := db.subcompactionBounds(inputs[:1], l0); parts(l0) < 2 || len(b) != parts(l0)-1 {
				t.Fatalf("a merge of %d bytes of L0 splits at %q, want %d parts", l0, b, parts(l0))
			}
			armed.Store(fail)
			did, err := db.compactWith(func(*iface.LevelsSnapshot) *iface.CompactionPlan { return plan })
			if fail {
				if err == nil {
					t.Fatal("the merge with a failing part succeeded")
				}
				names, _ := mem.List("/db")
				for _, n := range names {
					id, ok := parseTableName(n)
					if ok && db.tables[id] == nil {
						t.Errorf("output %s of the failed merge left behind", n)
					}
				}
				if fmt.Sprint(snap(db)) != fmt.Sprint(s) {
					t.Fatal("the failed merge changed the tree")
				}
				expectModel(t, db, m, "after the failed merge")
				return
			}
			if err != nil || !did {
				t.Fatal(did, err)
			}
			expectModel(t, db, m, "after the split merge")
		})
	}
}

// crashOp is one of the steps crash-tested below, run on a tree prepared
// by crashPrep.
type crashOp struct {
	name string
	plan func(s *iface.LevelsSnapshot) *iface.CompactionPlan
}

var crashOps = []crashOp{
	{"move into a shard", func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
		return &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true, OutputShard: 1,
			Inputs: []iface.CompactionInput{{Level: 0, Tables: oldestL0(s, 2)}}}
	}},
	{"merge inside a shard", func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
		return &iface.CompactionPlan{OutputLevel: 6, OutputIngest: true,
			Inputs: []iface.CompactionInput{{Level: 6, Ingest: true, Tables: ids(s.Ingest[6][0])}}}
	}},
	{"drain a shard", func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
		return &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{
			{Level: 6, Ingest: true, Tables: ids(s.Ingest[6][0])}, {Level: 6, Tables: ids(s.Levels[6])}}}
	}},
	{"subcompactions", func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
		return &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{
			{Level: 0, Tables: ids(s.Levels[0])}, {Level: 6, Ingest: true, Tables: ids(s.Ingest[6][0])}, {Level: 6, Tables: ids(s.Levels[6])}}}
	}},
}

// crashPrep builds a main run at L6, a two-table shard 0 above it and four
// L0 tables, all flushed (so nothing a crash drops may be missing after).
func crashPrep(t *testing.T, db *DB, m ingestModel) {
	fillTables(t, db, m, 2, 300, 0)
	planned(t, db, &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(db).Levels[0])}}})
	fillTables(t, db, m, 2, 300, 2)
	planned(t, db, &iface.CompactionPlan{Move: true, OutputLevel: 6, OutputIngest: true,
		Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(db).Levels[0])}}})
	fillTables(t, db, m, 4, 300, 4)
}

// TestCrashDuringIngestCompactions crashes the store at every mutating file
// operation of a move, a merge inside a shard, a drain and a split merge;
// the reopened store must hold exactly the data it held before.
func TestCrashDuringIngestCompactions(t *testing.T) {
	for _, op := range crashOps {
		t.Run(op.name, func(t *testing.T) {
			var points int64
			{ // dry run: count the operation's mutating file operations
				fs := vfs.NewMem()
				db, err := Open("/db", ingestOptions(fs))
				if err != nil {
					t.Fatal(err)
				}
				m := ingestModel{}
				crashPrep(t, db, m)
				before := fs.MutatingOps()
				planned(t, db, op.plan(snap(db)))
				points = fs.MutatingOps() - before
				expectModel(t, db, m, "dry run")
				db.Close()
			}
			t.Logf("%d crash points", points)
			step := int64(1)
			if testing.Short() {
				step = max(1, points/12)
			}
			for at := int64(1); at <= points+1; at += step {
				fs := vfs.NewMem()
				o := ingestOptions(fs)
				db, err := Open("/db", o)
				if err != nil {
					t.Fatal(err)
				}
				m := ingestModel{}
				crashPrep(t, db, m)
				fs.CrashAfter(at)
				_, _ = db.compactWith(op.plan)
				_ = db.Close()
				rfs := fs.Crash()
				ro := ingestOptions(rfs)
				db2, err := Open("/db", ro)
				if err != nil {
					t.Fatalf("crash at op %d of %d: reopen: %v", at, points, err)
				}
				expectModel(t, db2, m, fmt.Sprintf("crash at op %d of %d", at, points))
				if err := db2.Close(); err != nil {
					t.Fatal(err)
				}
				for _, p := range Check("/db", ro) {
					t.Fatalf("crash at op %d of %d: check: %v", at, points, p)
				}
			}
		})
	}
}

// twoPlans plans L3 -> L4 and L5 -> L6 (each a merge of a level's two
// tables), each once, whichever is not busy: two compactions that can run
// at once.
type twoPlans struct {
	idlePolicy
	mu   sync.Mutex
	done map[int]bool
}

func (p *twoPlans) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range []int{3, 5} {
		if p.done[l] || len(s.Levels[l]) != 2 || s.Busy[s.Levels[l][0].ID] {
			continue
		}
		p.done[l] = true
		return &iface.CompactionPlan{OutputLevel: l + 1, Inputs: []iface.CompactionInput{{Level: l, Tables: ids(s.Levels[l])}}}
	}
	return nil
}

// TestCompactionsRunConcurrently: with MaxConcurrentCompactions 2, two
// independent plans run at the same time in the background.
func TestCompactionsRunConcurrently(t *testing.T) {
	mem := vfs.NewMem()
	var live atomic.Pointer[DB]
	var peak atomic.Int32
	slow := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, name string) error {
		if db := live.Load(); db != nil && op == vfs.OpCreate && strings.HasSuffix(name, ".sst") {
			n := int32(db.compactions.Running())
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		return nil
	}))
	o := ingestOptions(slow)
	o.DisableBackgroundWork = true
	pol := &twoPlans{done: map[int]bool{}}
	o.CompactionPolicy = pol
	d := openIngest(t, mem, o)
	m := ingestModel{}
	put := func(prefix string, level int) {
		flushPrefix(t, d, m, prefix)
		planned(t, d, &iface.CompactionPlan{Move: true, OutputLevel: level, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(d).Levels[0])}}})
	}
	put("a", 5)
	put("b", 5)
	put("c", 3)
	put("d", 3)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	o.DisableBackgroundWork = false
	o.MaxConcurrentCompactions = 2
	pol.mu.Lock()
	db := openIngest(t, mem, o)
	live.Store(db)
	pol.mu.Unlock()
	db.maybeScheduleCompaction()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := snap(db)
		if len(s.Levels[4]) > 0 && len(s.Levels[6]) > 0 && db.compactions.Running() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two compactions did not finish: %+v", s.Levels)
		}
		time.Sleep(time.Millisecond)
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("at most %d compactions ran at once, want 2", p)
	}
	expectModel(t, db, m, "after the concurrent compactions")
}

func TestMidKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		a := make([]byte, rng.IntN(4))
		b := make([]byte, rng.IntN(4))
		for i := range a {
			a[i] = byte(rng.IntN(3)) * 0x7f
		}
		for i := range b {
			b[i] = byte(rng.IntN(3)) * 0x7f
		}
		if c := bytes.Compare(a, b); c == 0 {
			continue
		} else if c > 0 {
			a, b = b, a
		}
		m := midKey(a, b)
		if bytes.Compare(m, a) < 0 || bytes.Compare(m, b) >= 0 {
			t.Fatalf("midKey(%x, %x) = %x, not in [a, b)", a, b, m)
		}
	}
	if m := midKey([]byte("a"), []byte("c")); string(m) != "b" {
		t.Fatalf("midKey(a, c) = %q", m)
	}
}

// flushPrefix writes 100 keys with prefix (noting them in m) and flushes
// them into one L0 table.
func flushPrefix(t *testing.T, d *DB, m ingestModel, prefix string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		k := fmt.Sprintf("%s%03d", prefix, i)
		m[k] = "v" + k
		if err := d.Set([]byte(k), []byte(m[k]), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
}

// movesAndRewrites plans a rewrite of L5 into L6 with Pick, and offers
// moves of L0 into L1 (its tables do not overlap) with PickMove.
type movesAndRewrites struct{ idlePolicy }

func (movesAndRewrites) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	if len(s.Levels[5]) == 0 || s.Busy[s.Levels[5][0].ID] {
		return nil
	}
	return &iface.CompactionPlan{OutputLevel: 6, Inputs: []iface.CompactionInput{{Level: 5, Tables: ids(s.Levels[5])}}}
}

func (movesAndRewrites) PickMove(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	if len(s.Levels[0]) == 0 || len(s.Levels[1]) > 0 || anyBusyIn(s, s.Levels[0]) {
		return nil
	}
	return &iface.CompactionPlan{Move: true, OutputLevel: 1, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(s.Levels[0])}}}
}

func anyBusyIn(s *iface.LevelsSnapshot, ts []iface.TableMeta) bool {
	for _, t := range ts {
		if s.Busy[t.ID] {
			return true
		}
	}
	return false
}

// TestMovesRunBesideLongCompactions: while the only compaction worker is
// held inside a rewrite, a policy's metadata-only move (iface.MovePicker)
// still runs, on the worker kept for moves.
func TestMovesRunBesideLongCompactions(t *testing.T) {
	mem := vfs.NewMem()
	o := ingestOptions(mem)
	d := openIngest(t, mem, o)
	m := ingestModel{}
	flushPrefix(t, d, m, "a")
	planned(t, d, &iface.CompactionPlan{Move: true, OutputLevel: 5, Inputs: []iface.CompactionInput{{Level: 0, Tables: ids(snap(d).Levels[0])}}})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	o.DisableBackgroundWork = false
	o.MaxConcurrentCompactions = 1
	o.CompactionPolicy = movesAndRewrites{}
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	db := openIngest(t, mem, o)
	hook := func(p *iface.CompactionPlan) {
		if !p.Move {
			held <- struct{}{}
			<-release
		}
	}
	db.testHookBeforeCompaction.Store(&hook)
	db.maybeScheduleCompaction()
	<-held                     // the only worker is inside the L5 rewrite
	flushPrefix(t, db, m, "b") // flushed to L0; the move worker moves it to L1
	deadline := time.Now().Add(10 * time.Second)
	for s := snap(db); len(s.Levels[0]) > 0 || len(s.Levels[1]) == 0; s = snap(db) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("L0 was not moved while the rewrite was held: %+v", s.Levels)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	for s := snap(db); len(s.Levels[6]) == 0 || db.compactions.Running() > 0; s = snap(db) {
		if time.Now().After(deadline) {
			t.Fatalf("the rewrite did not finish: %+v", s.Levels)
		}
		time.Sleep(time.Millisecond)
	}
	expectModel(t, db, m, "after the move and the rewrite")
}
