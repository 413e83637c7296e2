package backend_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vfs"
)

var faultsAll = flag.Bool("faults.all", false, "fault test: fail every operation of the workload in every mode, with and without a crash (slow)")

// The whole-workload fault test. One deterministic workload (background
// work off, so the same operations happen in the same order every time)
// opens a store, writes synced batches with point reads, flushes (rotating
// the log, releasing segments, rewriting the tiny manifest), compacts,
// closes, damages the tails of the log and the manifest as a crash would,
// reopens (replay, tail truncation), writes, flushes and compacts more,
// scans and closes. Each run fails one operation, or every operation from
// one on, in one of four modes. The rules checked:
//
//   - Every error the DB returns wraps the injected fault (errors.Is), also
//     when it is iface.ErrReadOnly: the cause is reported, never replaced by
//     a misleading one such as corruption.
//   - A read returns the right value or an error; never a wrong value, never
//     "not found" for a key that is there.
//   - A write that failed and was followed by an acknowledged one left no
//     trace; live reads never see a failed write.
//   - After the run, with the fault gone (optionally after a power loss that
//     also drops what failed fsyncs did not write), the store opens, holds
//     every acknowledged batch, at most whole failed batches at the end, and
//     passes Check.

// faultMode is a way of failing operations from the i-th on.
type faultMode struct {
	name    string
	fault   error
	partial bool // failing writes write a random prefix first
	rule    func(i int64) faultRule
}

// isFullDiskOp lists what a full disk refuses.
func isFullDiskOp(op vfs.Op) bool {
	switch op {
	case vfs.OpWrite, vfs.OpCreate, vfs.OpOpenAppend, vfs.OpTruncate, vfs.OpMkdirAll:
		return true
	}
	return false
}

var faultModes = []faultMode{
	{"eio-once", syscall.EIO, false, func(i int64) faultRule {
		return func(n int64, _ vfs.Op, _ string) error {
			if n == i {
				return syscall.EIO
			}
			return nil
		}
	}},
	{"enospc-once", syscall.ENOSPC, true, func(i int64) faultRule {
		return func(n int64, _ vfs.Op, _ string) error {
			if n == i {
				return syscall.ENOSPC
			}
			return nil
		}
	}},
	// The disk stops working: every operation from the i-th on fails.
	{"broken-from", syscall.EIO, false, func(i int64) faultRule {
		return func(n int64, _ vfs.Op, _ string) error {
			if n >= i {
				return syscall.EIO
			}
			return nil
		}
	}},
	// The disk fills up: from the i-th operation on, every write and create
	// fails (a write after writing part of its bytes); reads, fsyncs,
	// renames and removes still work.
	{"full-from", syscall.ENOSPC, true, func(i int64) faultRule {
		return func(n int64, op vfs.Op, _ string) error {
			if n >= i && isFullDiskOp(op) {
				return syscall.ENOSPC
			}
			return nil
		}
	}},
}

func faultOptions(fs vfs.FS, background bool) *backend.Options {
	o := smallOptions(fs)
	o.LogSegmentSize = 8 << 10
	o.MaxManifestFileSize = 256
	o.DisableBackgroundWork = !background
	// No block cache: reads of table blocks reach the file system.
	o.TableFormat = sstable.New(sstable.Options{BlockSize: 1024})
	return o
}

// faultBatch is a batch of the workload and what became of it.
type faultBatch struct {
	cb    crashBatch
	state batchState
}

type batchState int

const (
	batchAcked  batchState = iota // acknowledged, or found after a reopen
	batchMaybe                    // failed, and nothing has settled it yet
	batchAbsent                   // failed, and must have left no trace
)

// faultRun is what one run of the workload did and what it broke.
type faultRun struct {
	fault      error
	batches    []faultBatch
	failures   int
	violations []string
}

func (r *faultRun) violate(format string, args ...any) {
	r.violations = append(r.violations, fmt.Sprintf(format, args...))
}

// failed records an error the DB returned and checks that it reports the
// injected fault.
func (r *faultRun) failed(what string, err error) {
	r.failures++
	if !errors.Is(err, r.fault) {
		r.violate("%s returned %q, which does not wrap the injected %v", what, err, r.fault)
	}
}

// liveModel is what a reader of the running store must see: the
// acknowledged batches in order.
func (r *faultRun) liveModel() model {
	m := model{}
	for _, b := range r.batches {
		if b.state == batchAcked {
			b.cb.apply(m)
		}
	}
	return m
}

const faultBatches = 90

// runFaultWorkload runs the workload on fs; it stops after three failures.
func runFaultWorkload(fs *faultFS, fault error, background bool, seed uint64) *faultRun {
	r := &faultRun{fault: fault}
	rng := rand.New(rand.NewPCG(seed, 3))
	fs.setPhase("open")
	db, err := backend.Open("/db", faultOptions(fs, background))
	if err != nil {
		r.failed("open", err)
		return r
	}
	defer func() {
		if db != nil {
			fs.setPhase("close")
			if err := db.Close(); err != nil {
				r.failed("close", err)
			}
		}
	}()
	for i := 0; i < faultBatches && r.failures < 3; i++ {
		if i == faultBatches/2 {
			fs.setPhase("close")
			err := db.Close()
			db = nil
			if err != nil {
				r.failed("close", err)
				return r
			}
			// A crash cuts only the append in progress; after a failed
			// write the engine appends nothing more to that file, so damage
			// the tails only while no fault has happened.
			if fs.faults() == 0 {
				if err := damageTails(fs.inner); err != nil {
					r.violate("damaging the tails: %v", err)
					return r
				}
			}
			fs.setPhase("reopen")
			if db, err = backend.Open("/db", faultOptions(fs, background)); err != nil {
				db = nil
				r.failed("reopen", err)
				return r
			}
			if !r.settle(db) {
				return r
			}
		}
		fs.setPhase("write")
		cb, b := makeBatch(rng, i)
		if err := db.Apply(b, &backend.WriteOptions{Sync: true}); err != nil {
			r.failed("write", err)
			r.batches = append(r.batches, faultBatch{cb: cb, state: batchMaybe})
			continue
		}
		// A write this DB failed and then followed by an acknowledged one
		// must have left no trace (a store that kept taking writes after a
		// failed log write or fsync would break this).
		for j := range r.batches {
			if r.batches[j].state == batchMaybe {
				r.batches[j].state = batchAbsent
			}
		}
		r.batches = append(r.batches, faultBatch{cb: cb, state: batchAcked})
		switch {
		case i%15 == 14:
			fs.setPhase("flush")
			if err := db.Flush(); err != nil {
				r.failed("flush", err)
			}
		case i == 40 || i == 85:
			fs.setPhase("compact")
			if err := db.Compact(); err != nil {
				r.failed("compact", err)
			}
		case i%5 == 2:
			fs.setPhase("read")
			r.checkGets(db, rng)
		}
	}
	fs.setPhase("read")
	r.checkScan(db)
	return r
}

// checkGets reads a few keys and compares them with the acknowledged state.
func (r *faultRun) checkGets(db *backend.DB, rng *rand.Rand) {
	m := r.liveModel()
	for range 4 {
		k := fmt.Sprintf("k%04d", rng.IntN(400))
		v, err := db.Get([]byte(k))
		want, ok := m[k]
		switch {
		case err != nil && !errors.Is(err, iface.ErrNotFound):
			r.failed("get", err)
		case errors.Is(err, iface.ErrNotFound) && ok:
			r.violate("get %q: not found, but it holds %q", k, want)
		case err == nil && string(v) != want:
			r.violate("get %q = %q, want %q (present: %v)", k, v, want, ok)
		}
	}
}

// checkScan compares a full scan with the acknowledged state; an error
// (reported) may cut it short, a wrong or missing key may not.
func (r *faultRun) checkScan(db *backend.DB) {
	m := r.liveModel()
	it, err := db.NewIterator(nil)
	if err != nil {
		r.failed("new iterator", err)
		return
	}
	got := model{}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			r.failed("iterator value", err)
			break
		}
		got[string(it.Key())] = string(v)
	}
	if err := it.Close(); err != nil {
		r.failed("scan", err)
		return
	}
	if !equalModels(got, m) {
		r.violate("a scan of the running store differs from the acknowledged batches: %s", diffModels(got, m))
	}
}

// damageTails appends a torn record to the newest log segment and to the
// manifest, as a crash in the middle of an append leaves them, so the
// reopen that follows truncates both.
func damageTails(fs *vfs.MemFS) error {
	names, err := fs.List("/db")
	if err != nil {
		return err
	}
	var wal, man string
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".wal"):
			wal = n
		case strings.HasPrefix(n, "MANIFEST-"):
			man = n
		}
	}
	torn := record.Append(nil, []byte("a record the crash cut short"))
	for _, n := range []string{wal, man} {
		if n == "" {
			continue
		}
		f, err := fs.OpenAppend(filepath.Join("/db", n))
		if err != nil {
			return err
		}
		if _, err := f.Write(torn[:len(torn)-7]); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

// verifyAfterFaults reopens the store the run left, without faults (after
// a simulated power loss when crash is set), and checks what it holds.
func verifyAfterFaults(fs *faultFS, r *faultRun, crash bool) {
	var under vfs.FS = fs.inner
	if crash {
		rec := fs.inner.Crash()
		if err := fs.lose(rec); err != nil {
			r.violate("modelling lost pages: %v", err)
			return
		}
		under = rec
	}
	o := faultOptions(under, false)
	db, err := backend.Open("/db", o)
	if err != nil {
		r.violate("reopen without the fault: %v", err)
		return
	}
	got := model{}
	it, err := db.NewIterator(nil)
	if err == nil {
		for ok := it.First(); ok; ok = it.Next() {
			v, _ := it.Value()
			got[string(it.Key())] = string(v)
		}
		err = it.Close()
	}
	if err != nil {
		r.violate("scan after reopen: %v", err)
	}
	if err := db.Close(); err != nil {
		r.violate("close after reopen: %v", err)
	}
	if matchOutcome(got, r.batches) < 0 {
		r.violate("after reopen the store holds neither the acknowledged batches nor them plus whole failed ones at the end: %s",
			diffModels(got, r.liveModel()))
	}
	for _, p := range backend.Check("/db", o) {
		r.violate("check after reopen: %v", p)
	}
}

// matchOutcome returns the first subset (as a bit mask over the unsettled
// failed batches, in order) that, applied in place with the acknowledged
// batches, yields got; -1 if none does.
func matchOutcome(got model, batches []faultBatch) int {
	var maybe []int
	for i, b := range batches {
		if b.state == batchMaybe {
			maybe = append(maybe, i)
		}
	}
	for mask := 0; mask < 1<<len(maybe); mask++ {
		m := model{}
		for i, b := range batches {
			if b.state == batchAcked {
				b.cb.apply(m)
			} else if j := slices.Index(maybe, i); j >= 0 && mask&(1<<j) != 0 {
				b.cb.apply(m)
			}
		}
		if equalModels(got, m) {
			return mask
		}
	}
	return -1
}

// settle reads a reopened store and decides, from what it holds, which
// failed batches of the previous session survived. It reports false (and
// why) when that cannot be done.
func (r *faultRun) settle(db *backend.DB) bool {
	it, err := db.NewIterator(nil)
	if err != nil {
		r.failed("new iterator", err)
		return false
	}
	got := model{}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			break // Close reports it
		}
		got[string(it.Key())] = string(v)
	}
	if err := it.Close(); err != nil {
		r.failed("scan after reopen", err)
		return false
	}
	mask := matchOutcome(got, r.batches)
	if mask < 0 {
		r.violate("after the reopen the store holds neither the acknowledged batches nor them plus whole failed ones: %s",
			diffModels(got, r.liveModel()))
		return false
	}
	j := 0
	for i := range r.batches {
		if r.batches[i].state != batchMaybe {
			continue
		}
		r.batches[i].state = batchAbsent
		if mask&(1<<j) != 0 {
			r.batches[i].state = batchAcked
		}
		j++
	}
	return true
}

// faultClass names where an operation happened, for choosing injection
// points and for the report: the workload phase, the operation, and the
// kind of file.
func faultClass(fo faultOp) string {
	file := "dir"
	switch base := filepath.Base(fo.name); {
	case strings.HasSuffix(base, ".wal"):
		file = "log"
	case strings.HasSuffix(base, ".sst"):
		file = "table"
	case strings.HasPrefix(base, "CURRENT"):
		file = "CURRENT"
	case strings.HasPrefix(base, "MANIFEST"):
		file = "manifest"
	case base == "LOCK":
		file = "lock"
	}
	return fo.phase + " " + fo.op.String() + " " + file
}

// requiredFaultClasses must occur in the workload: if a change of the engine
// or the workload loses one, the test says so instead of silently covering
// less. Manifest rewrites show as CURRENT operations.
var requiredFaultClasses = []string{
	"open lock lock", "open list dir", "open create manifest", "open rename CURRENT",
	"write write log", "write sync log",
	"flush create table", "flush write table", "flush sync table", "flush sync-dir dir",
	"flush write manifest", "flush sync manifest", "write remove log",
	"flush create CURRENT", "flush rename CURRENT", "flush remove manifest",
	"compact read table", "compact create table", "compact write manifest", "compact remove table",
	"read read table",
	"reopen read manifest", "reopen open-append manifest", "reopen read log", "reopen truncate log",
	"reopen truncate manifest", "reopen open table", "reopen read table",
	"close sync log", "close close log",
}

// TestFaultsAcrossWorkload injects faults into the workload described above.
// By default it fails the first few operations of every class (phase,
// operation, file kind) plus every k-th operation, in every mode; with
// -faults.all it fails every operation in every mode, with and without a
// power loss before the final reopen.
func TestFaultsAcrossWorkload(t *testing.T) {
	const seed = 5
	trace := func() []faultOp {
		fs := newFaultFS(vfs.NewMem(), nil, seed)
		fs.tracing = true
		r := runFaultWorkload(fs, syscall.EIO, false, seed)
		if r.failures > 0 || len(r.violations) > 0 {
			t.Fatalf("the workload fails without faults: %v", r.violations)
		}
		return fs.trace
	}
	ops := trace()
	if again := trace(); len(again) != len(ops) {
		t.Fatalf("the workload is not deterministic: %d operations, then %d", len(ops), len(again))
	}
	classes := map[string][]int64{}
	for _, fo := range ops {
		c := faultClass(fo)
		classes[c] = append(classes[c], fo.n)
	}
	if testing.Verbose() {
		var names []string
		for c, ns := range classes {
			names = append(names, fmt.Sprintf("%s (%d)", c, len(ns)))
		}
		sort.Strings(names)
		t.Logf("%d operations in %d classes:\n  %s", len(ops), len(classes), strings.Join(names, "\n  "))
	}
	for _, c := range requiredFaultClasses {
		if len(classes[c]) == 0 {
			t.Errorf("the workload no longer does %q; widen it", c)
		}
	}

	// Injection points: every operation, or the first few of each class
	// and a stride.
	points := map[int64]bool{}
	stride, perClass := int64(1), len(ops)
	if !*faultsAll {
		stride, perClass = 23, 2
		if testing.Short() {
			stride, perClass = 97, 1
		}
	}
	for i := int64(1); i <= int64(len(ops)); i += stride {
		points[i] = true
	}
	for _, ns := range classes {
		for _, n := range ns[:min(perClass, len(ns))] {
			points[n] = true
		}
	}
	sorted := make([]int64, 0, len(points))
	for n := range points {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)

	hit := map[string]int{}
	runs, failedOps := 0, 0
	for _, mode := range faultModes {
		for k, i := range sorted {
			for _, crash := range []bool{false, true} {
				if !*faultsAll && (k%2 == 0) != crash {
					continue // alternate, unless every combination is asked for
				}
				fs := newFaultFS(vfs.NewMem(), mode.rule(i), seed)
				fs.partial = mode.partial
				r := runFaultWorkload(fs, mode.fault, false, seed)
				fs.setRule(nil)
				verifyAfterFaults(fs, r, crash)
				runs++
				failedOps += len(fs.hits)
				if len(fs.hits) > 0 {
					hit[faultClass(fs.hits[0])]++
				}
				if len(r.violations) > 0 {
					where := "no operation (the workload ended first)"
					if len(fs.hits) > 0 {
						h := fs.hits[0]
						where = fmt.Sprintf("op %d (%s %s, phase %s)", h.n, h.op, h.name, h.phase)
					}
					t.Fatalf("mode %s from %s, crash %v, %d batches (%d failures):\n  %s",
						mode.name, where, crash, len(r.batches), r.failures, strings.Join(r.violations, "\n  "))
				}
			}
		}
	}
	t.Logf("%d runs over a %d-operation workload, %d operations failed; first fault by class:\n%s",
		runs, len(ops), failedOps, formatHits(hit))
}

func formatHits(hit map[string]int) string {
	keys := make([]string, 0, len(hit))
	for k := range hit {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-32s %d\n", k, hit[k])
	}
	return b.String()
}

var faultsBackground = flag.Int("faults.bg", 0, "fault test with background work: runs (default 40, 10 with -short)")

// TestFaultsWithBackgroundWork runs the workload with background flushes and
// compactions, so faults also hit the flush and compaction loops (which put
// the store into the read-only state) while writers wait for room. The
// operations no longer come in a fixed order, so the fault points are drawn
// at random (seeded) over the length of a run, in every mode.
func TestFaultsWithBackgroundWork(t *testing.T) {
	const seed = 9
	dry := newFaultFS(vfs.NewMem(), nil, seed)
	if r := runFaultWorkload(dry, syscall.EIO, true, seed); r.failures > 0 || len(r.violations) > 0 {
		t.Fatalf("the workload fails without faults: %v", r.violations)
	}
	total := dry.n
	runs := *faultsBackground
	if runs == 0 {
		runs = 40
		if testing.Short() {
			runs = 10
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	hit := map[string]int{}
	for k := range runs {
		mode := faultModes[k%len(faultModes)]
		i := 1 + rng.Int64N(total)
		crash := rng.IntN(2) == 0
		fs := newFaultFS(vfs.NewMem(), mode.rule(i), seed)
		fs.partial = mode.partial
		r := runFaultWorkload(fs, mode.fault, true, seed)
		fs.setRule(nil)
		verifyAfterFaults(fs, r, crash)
		if len(fs.hits) > 0 {
			hit[faultClass(fs.hits[0])]++
		}
		if len(r.violations) > 0 {
			where := "no operation"
			if len(fs.hits) > 0 {
				h := fs.hits[0]
				where = fmt.Sprintf("op %d (%s %s, phase %s)", h.n, h.op, h.name, h.phase)
			}
			t.Fatalf("run %d: mode %s from %s, crash %v, %d batches (%d failures):\n  %s",
				k, mode.name, where, crash, len(r.batches), r.failures, strings.Join(r.violations, "\n  "))
		}
	}
	t.Logf("%d runs over about %d operations; first fault by class:\n%s", runs, total, formatHits(hit))
}
