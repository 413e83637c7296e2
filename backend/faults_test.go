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
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vfs"
	"github.com/nokv/nokv/vlog"
)

var faultsAll = flag.Bool("faults.all", false, "fault test: fail every operation of the workload in every mode, with and without a crash (slow)")

// The whole-workload fault test. One deterministic workload (background
// work off, so the same operations happen in the same order every time)
// opens a store, writes synced batches with point reads, flushes (rotating
// the log, releasing segments, rewriting the tiny manifest), compacts, runs
// value-log GC, closes, damages the tails of the log and the manifest as a
// crash would, reopens (replay, tail truncation), writes, flushes, compacts
// and collects more, scans and closes; once per value store. Each run fails
// one operation, or every operation from one on, in one of four modes. The
// rules checked:
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

// newFaultFSFor makes the file system of one run, with the model of pages
// lost to a failed fsync on (see TestFailedSyncIsNotTrustedAfterReopen).
func newFaultFSFor(cfg faultConfig, rule faultRule, seed uint64) *faultFS {
	return newFaultFS(vfs.NewMem(), rule, seed)
}

// faultConfig is what a run of the workload is configured with.
type faultConfig struct {
	valueStore string // a registry name
	background bool
}

func faultOptions(fs vfs.FS, cfg faultConfig) *backend.Options {
	o := smallOptions(fs)
	policy := o.CompactionPolicy
	if _, err := registry.Builtin().Resolve(registry.Config{ValueStore: cfg.valueStore}, o); err != nil {
		panic(err)
	}
	o.CompactionPolicy = policy
	o.ValueThreshold = 64 // most values go to a value store that separates them
	if cfg.valueStore == "vlog" {
		o.NewValueStore = vlog.NewWithOptions(vlog.Options{SegmentSize: 4 << 10}) // many segments to collect
	}
	o.LogSegmentSize = 8 << 10
	o.MaxManifestFileSize = 256
	o.DisableBackgroundWork = !cfg.background
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
func runFaultWorkload(fs *faultFS, fault error, cfg faultConfig, seed uint64) *faultRun {
	r := &faultRun{fault: fault}
	rng := rand.New(rand.NewPCG(seed, 3))
	fs.setPhase("open")
	db, err := backend.Open("/db", faultOptions(fs, cfg))
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
			if db, err = backend.Open("/db", faultOptions(fs, cfg)); err != nil {
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
				break
			}
			fs.setPhase("gc")
			if _, err := db.RunValueLogGC(0.01); err != nil && !errors.Is(err, iface.ErrInvalidArgument) {
				r.failed("value-log gc", err)
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
			r.failed("iterator value", err) // the scan is cut short
			it.Close()
			return
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
func verifyAfterFaults(fs *faultFS, r *faultRun, cfg faultConfig, crash bool) {
	var under vfs.FS = fs.inner
	if crash {
		rec := fs.inner.Crash()
		if err := fs.lose(rec); err != nil {
			r.violate("modelling lost pages: %v", err)
			return
		}
		under = rec
	}
	cfg.background = false
	o := faultOptions(under, cfg)
	db, err := backend.Open("/db", o)
	if err != nil {
		r.violate("reopen without the fault: %v", err)
		return
	}
	got := model{}
	it, err := db.NewIterator(nil)
	if err == nil {
		for ok := it.First(); ok && err == nil; ok = it.Next() {
			var v []byte
			if v, err = it.Value(); err == nil {
				got[string(it.Key())] = string(v)
			}
		}
		if cerr := it.Close(); err == nil {
			err = cerr
		}
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
			r.failed("value after reopen", err)
			it.Close()
			return false
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
	case strings.Contains(fo.name, "/vlog"):
		file = "value store"
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

// requiredFaultClassesOf adds the classes a value store must show.
var requiredFaultClassesOf = map[string][]string{
	"vlog": {"write write value store", "write sync value store", "read read value store",
		"gc read value store", "gc write value store", "gc sync value store", "gc write log"},
}

// TestFaultsAcrossWorkload injects faults into the workload described above,
// once per value store the registry lists (with a 64-byte value threshold,
// so a separating store gets most values). See faultPlans for which
// operations fail in which mode.
func TestFaultsAcrossWorkload(t *testing.T) {
	for _, vs := range registry.Builtin().Names(registry.KindValueStore) {
		t.Run(vs, func(t *testing.T) { faultSweep(t, faultConfig{valueStore: vs}) })
	}
}

// faultSweep runs the deterministic sweep for one configuration.
func faultSweep(t *testing.T, cfg faultConfig) {
	const seed = 5
	trace := func() []faultOp {
		fs := newFaultFSFor(cfg, nil, seed)
		fs.tracing = true
		r := runFaultWorkload(fs, syscall.EIO, cfg, seed)
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
	for _, c := range append(requiredFaultClasses, requiredFaultClassesOf[cfg.valueStore]...) {
		if len(classes[c]) == 0 {
			t.Errorf("the workload no longer does %q; widen it", c)
		}
	}

	hit := map[string]int{}
	runs, failedOps := 0, 0
	for _, p := range faultPlans(classes, int64(len(ops))) {
		fs := newFaultFSFor(cfg, p.mode.rule(p.i), seed)
		fs.partial = p.mode.partial
		r := runFaultWorkload(fs, p.mode.fault, cfg, seed)
		fs.setRule(nil)
		verifyAfterFaults(fs, r, cfg, p.crash)
		runs++
		failedOps += len(fs.hits)
		if len(fs.hits) > 0 {
			hit[faultClass(fs.hits[0])]++
		}
		if len(r.violations) > 0 {
			t.Fatalf("mode %s from %s, crash %v, %d batches (%d failures):\n  %s",
				p.mode.name, faultWhere(fs), p.crash, len(r.batches), r.failures, strings.Join(r.violations, "\n  "))
		}
	}
	t.Logf("%d runs over a %d-operation workload, %d operations failed; first fault by class:\n%s",
		runs, len(ops), failedOps, formatHits(hit))
}

// faultPlan is one run of the sweep: where the fault starts, how, and
// whether a power loss follows.
type faultPlan struct {
	i     int64
	mode  faultMode
	crash bool
}

// faultPlans chooses the runs of a sweep over a workload of total
// operations. With -faults.all: every operation in every mode, with and
// without a power loss. By default: the first three operations of every
// class, each in another mode, and about 120 more spread evenly, in modes
// taken in turn; with -short, every 97th operation and the first of each required
// class. Runs alternate between no power loss and a power loss.
func faultPlans(classes map[string][]int64, total int64) []faultPlan {
	var plans []faultPlan
	if *faultsAll {
		for _, mode := range faultModes {
			for i := int64(1); i <= total; i++ {
				plans = append(plans, faultPlan{i, mode, false}, faultPlan{i, mode, true})
			}
		}
		return plans
	}
	stride, perClass := max(total/120, 5), 3
	if testing.Short() {
		stride, perClass = 97, 0
	}
	seen := map[[2]int64]bool{}
	add := func(i int64, m int) {
		if !seen[[2]int64{i, int64(m)}] {
			seen[[2]int64{i, int64(m)}] = true
			plans = append(plans, faultPlan{i, faultModes[m], len(plans)%2 == 1})
		}
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		n := perClass
		if n == 0 && slices.Contains(requiredFaultClasses, c) {
			n = 1
		}
		for j, i := range classes[c][:min(n, len(classes[c]))] {
			add(i, j%len(faultModes))
		}
	}
	for i := int64(1); i <= total; i += stride {
		add(i, int(i/stride)%len(faultModes))
	}
	return plans
}

// faultWhere describes the first operation a run failed.
func faultWhere(fs *faultFS) string {
	if len(fs.hits) == 0 {
		return "no operation (the workload ended first)"
	}
	h := fs.hits[0]
	return fmt.Sprintf("op %d (%s %s, phase %s)", h.n, h.op, h.name, h.phase)
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

var faultsBackground = flag.Int("faults.bg", 0, "fault test with background work: runs per value store (default 40, 10 with -short)")

// TestFaultsWithBackgroundWork runs the workload with background flushes and
// compactions, so faults also hit the flush and compaction loops (which put
// the store into the read-only state) while writers wait for room. The
// operations no longer come in a fixed order, so the fault points are drawn
// at random (seeded) over the length of a run, in every mode.
func TestFaultsWithBackgroundWork(t *testing.T) {
	for _, vs := range registry.Builtin().Names(registry.KindValueStore) {
		t.Run(vs, func(t *testing.T) { faultRandom(t, faultConfig{valueStore: vs, background: true}) })
	}
}

func faultRandom(t *testing.T, cfg faultConfig) {
	const seed = 9
	dry := newFaultFSFor(cfg, nil, seed)
	if r := runFaultWorkload(dry, syscall.EIO, cfg, seed); r.failures > 0 || len(r.violations) > 0 {
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
		fs := newFaultFSFor(cfg, mode.rule(i), seed)
		fs.partial = mode.partial
		r := runFaultWorkload(fs, mode.fault, cfg, seed)
		fs.setRule(nil)
		verifyAfterFaults(fs, r, cfg, crash)
		if len(fs.hits) > 0 {
			hit[faultClass(fs.hits[0])]++
		}
		if len(r.violations) > 0 {
			t.Fatalf("run %d: mode %s from %s, crash %v, %d batches (%d failures):\n  %s",
				k, mode.name, faultWhere(fs), crash, len(r.batches), r.failures, strings.Join(r.violations, "\n  "))
		}
	}
	t.Logf("%d runs over about %d operations; first fault by class:\n%s", runs, total, formatHits(hit))
}
