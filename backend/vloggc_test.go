package backend_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/manifest"
	"github.com/nokv/nokv/vfs"
	"github.com/nokv/nokv/vlog"
)

// vlogOptions: a value log with 64 KiB segments under small trees, GC only
// on demand.
func vlogOptions(fs vfs.FS) *backend.Options {
	o := smallOptions(fs)
	o.NewValueStore = vlog.NewWithOptions(vlog.Options{SegmentSize: 64 << 10})
	o.ValueLogGCInterval = -1
	return o
}

func gcValue(k string, gen int) []byte {
	v := []byte(fmt.Sprintf("%s|%d|", k, gen))
	return append(v, bytes.Repeat([]byte{byte(gen)}, 300)...)
}

// overwrite writes keys [0, n) gens times.
func overwrite(t *testing.T, db *backend.DB, n, gens int) {
	for g := 0; g < gens; g++ {
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%05d", i)
			must(t, db.Set([]byte(k), gcValue(k, g), nil))
		}
	}
}

func vlogBytes(t *testing.T, db *backend.DB) (total int64) {
	vs, ok := db.ValueStore().(*vlog.Store)
	if !ok {
		t.Fatal("not a value log")
	}
	for _, s := range vs.Segments() {
		if !s.Removing {
			total += s.Size
		}
	}
	return total
}

func TestValueLogGCReclaimsSpace(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, vlogOptions(nil))
	overwrite(t, db, 1000, 4)
	must(t, db.Flush())
	must(t, db.Compact())
	before := vlogBytes(t, db)
	collected := 0
	for {
		res, err := db.RunValueLogGC(0.3)
		must(t, err)
		if !res.Collected {
			break
		}
		collected++
	}
	after := vlogBytes(t, db)
	if collected == 0 || after*2 > before {
		t.Fatalf("GC collected %d segments; value log %d -> %d bytes", collected, before, after)
	}
	for i := 0; i < 1000; i++ {
		k := fmt.Sprintf("k%05d", i)
		expectGet(t, db, k, string(gcValue(k, 3)))
	}
	t.Logf("collected %d segments: %d -> %d bytes (live data about %d)", collected, before, after, 1000*320)
}

// TestValueLogGCWithConcurrentReaders runs GC cycles while writers
// overwrite, readers Get and iterate, and snapshots re-read what they saw
// at creation; no read may fail or return another key's value.
func TestValueLogGCWithConcurrentReaders(t *testing.T) {
	db := openTest(t, t.TempDir(), vlogOptions(nil))
	const n = 500
	overwrite(t, db, n, 1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	wg.Add(1)
	go func() { // writer
		defer wg.Done()
		for g := 1; !stop.Load(); g++ {
			for i := 0; i < n && !stop.Load(); i += 3 {
				k := fmt.Sprintf("k%05d", i)
				if err := db.Set([]byte(k), gcValue(k, g), nil); err != nil {
					report(err)
					return
				}
			}
		}
	}()
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(r int) { // readers
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 0))
			for !stop.Load() {
				k := fmt.Sprintf("k%05d", rng.IntN(n))
				v, err := db.Get([]byte(k))
				if err != nil || !bytes.HasPrefix(v, []byte(k+"|")) {
					report(fmt.Errorf("get %s: %q, %v", k, v[:min(len(v), 20)], err))
					return
				}
				s := db.NewSnapshot()
				it, err := s.NewIterator(&backend.IterOptions{LowerBound: []byte(k)})
				if err != nil {
					report(err)
					return
				}
				seen := map[string][]byte{}
				for ok, j := it.First(), 0; ok && j < 20; ok, j = it.Next(), j+1 {
					v, err := it.Value()
					if err != nil || !bytes.HasPrefix(v, append(append([]byte(nil), it.Key()...), '|')) {
						report(fmt.Errorf("iterate at %s: %q, %v", it.Key(), v, err))
						return
					}
					seen[string(it.Key())] = append([]byte(nil), v...)
				}
				it.Close()
				for k, v := range seen { // the snapshot still reads the same
					if got, err := s.Get([]byte(k)); err != nil || !bytes.Equal(got, v) {
						report(fmt.Errorf("snapshot re-read of %s changed: %v", k, err))
						return
					}
				}
				s.Release()
			}
		}(r)
	}
	gcs := 0
	// At least 30 rounds, and more until a segment is collected (a loaded
	// machine may not have scheduled the writer much in 30 rounds).
	start := time.Now()
	for round := 0; round < 30 || (gcs == 0 && time.Since(start) < 30*time.Second); round++ {
		must(t, db.Flush())
		must(t, db.Compact())
		for {
			res, err := db.RunValueLogGC(0.2)
			must(t, err)
			if !res.Collected {
				break
			}
			gcs++
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if gcs == 0 {
		t.Fatal("no segment was collected")
	}
	t.Logf("%d segments collected under load", gcs)
}

// TestValueLogGCCrash crashes at every mutating file operation of GC
// cycles that rewrite live values and remove segments, and checks that the
// reopened store holds every synced value and that every pointer resolves.
func TestValueLogGCCrash(t *testing.T) {
	want := func(k int) []byte {
		key := fmt.Sprintf("k%05d", k)
		if k < 150 {
			return gcValue(key, 2)
		}
		return gcValue(key, 0)
	}
	setup := func(fs vfs.FS) *backend.DB {
		o := vlogOptions(fs)
		o.DisableBackgroundWork = true
		db, err := backend.Open("/db", o)
		must(t, err)
		overwrite(t, db, 300, 1) // generation 0 of every key
		overwrite(t, db, 150, 3) // later generations of half of them
		for i := 0; i < 150; i++ {
			k := fmt.Sprintf("k%05d", i)
			must(t, db.Set([]byte(k), want(i), nil))
		}
		must(t, db.Flush())
		must(t, db.Compact())
		must(t, db.Sync())
		return db
	}
	gcAll := func(db *backend.DB) (live int) {
		for {
			res, err := db.RunValueLogGC(0.1)
			if err != nil || !res.Collected {
				return live
			}
			live += res.Live
		}
	}
	// Count the cycles' operations.
	mem := vfs.NewMem()
	db := setup(mem)
	start := mem.MutatingOps()
	if live := gcAll(db); live == 0 {
		t.Fatal("GC rewrote no live value; the setup does not exercise rewrites")
	}
	ops := mem.MutatingOps() - start
	must(t, db.Close())
	step := int64(1)
	if testing.Short() {
		step = max(1, ops/15)
	}
	for i := int64(1); i <= ops; i += step {
		mem := vfs.NewMem()
		db := setup(mem)
		mem.CrashAfter(i)
		gcAll(db)
		_ = db.Close()
		rfs := mem.Recovered()
		if rfs == nil {
			rfs = mem.Crash()
		}
		o := vlogOptions(rfs)
		db2, err := backend.Open("/db", o)
		if err != nil {
			t.Fatalf("crash at GC op %d of %d: reopen: %v", i, ops, err)
		}
		for k := 0; k < 300; k++ {
			key := fmt.Sprintf("k%05d", k)
			if v, err := db2.Get([]byte(key)); err != nil || !bytes.Equal(v, want(k)) {
				t.Fatalf("crash at GC op %d of %d: %s = %q, %v", i, ops, key, v[:min(len(v), 16)], err)
			}
		}
		// GC again after recovery, then everything must still be there.
		gcAll(db2)
		must(t, db2.Close())
		for _, p := range backend.Check("/db", o) {
			t.Fatalf("crash at GC op %d of %d: check: %v", i, ops, p)
		}
	}
	t.Logf("crashed at %d of the GC cycles' %d file operations", (ops+step-1)/step, ops)
}

// TestValueLogLiveSetRecorded checks the value log's live set in the
// manifest: flushes record the segments up to the head, GC records drops,
// and a segment GC dropped whose file a crash left behind (an iterator
// pinned it) is removed at the next Open.
func TestValueLogLiveSetRecorded(t *testing.T) {
	mem := vfs.NewMem()
	o := vlogOptions(mem)
	o.DisableBackgroundWork = true
	db, err := backend.Open("/db", o)
	must(t, err)
	overwrite(t, db, 300, 4)
	must(t, db.Flush())
	must(t, db.Compact())
	state, err := manifest.Load(mem, "/db")
	must(t, err)
	head := state.ValueLogHead.Segment
	if head < 3 || len(state.ValueSegments) != int(head) || state.ValueSegments[head-1] != head {
		t.Fatalf("live set %v with head segment %d: want 1..head", state.ValueSegments, head)
	}
	it, err := db.NewIterator(nil) // pins every segment
	must(t, err)
	res, err := db.RunValueLogGC(0.1)
	must(t, err)
	if !res.Collected {
		t.Fatal("GC collected nothing")
	}
	state, err = manifest.Load(mem, "/db")
	must(t, err)
	if slices.Contains(state.ValueSegments, res.Segment) {
		t.Fatalf("segment %d still live after GC: %v", res.Segment, state.ValueSegments)
	}
	orphan := fmt.Sprintf("/db/vlog/%06d.vlog", res.Segment)
	if _, err := mem.Stat(orphan); err != nil {
		t.Fatalf("the pinned segment's file is gone already: %v", err)
	}
	// Crash with the iterator open: the file stays behind.
	rfs := mem.Crash()
	it.Close()
	db.Close() // writes only to the crashed file system
	if _, err := rfs.Stat(orphan); err != nil {
		t.Fatalf("the crash lost %s: %v", orphan, err)
	}
	o = vlogOptions(rfs)
	db2, err := backend.Open("/db", o)
	must(t, err)
	if _, err := rfs.Stat(orphan); err == nil {
		t.Fatalf("Open kept %s, which GC dropped", orphan)
	}
	for k := 0; k < 300; k++ {
		key := fmt.Sprintf("k%05d", k)
		if v, err := db2.Get([]byte(key)); err != nil || !bytes.Equal(v, gcValue(key, 3)) {
			t.Fatalf("%s = %q, %v", key, v[:min(len(v), 16)], err)
		}
	}
	must(t, db2.Close())
	for _, p := range backend.Check("/db", o) {
		t.Fatalf("check: %v", p)
	}
	// A live segment whose file is missing fails Open, naming it.
	live := fmt.Sprintf("/db/vlog/%06d.vlog", state.ValueSegments[0])
	must(t, rfs.Remove(live))
	if _, err := backend.Open("/db", o); err == nil || !strings.Contains(err.Error(), live) {
		t.Fatalf("Open with %s missing: %v, want an error naming it", live, err)
	}
}

// TestValueLogLiveSetAdopted opens a store whose manifest records a
// value-log head but no live set (written before the set was kept): Open
// records the segment files at or below the head, and GC works on.
func TestValueLogLiveSetAdopted(t *testing.T) {
	mem := vfs.NewMem()
	o := vlogOptions(mem)
	o.DisableBackgroundWork = true
	db, err := backend.Open("/db", o)
	must(t, err)
	overwrite(t, db, 300, 4)
	must(t, db.Flush())
	must(t, db.Compact())
	must(t, db.Close())
	// Forget the live set, as an older NoKV would never have written it.
	m, err := manifest.Open(mem, "/db", manifest.Options{})
	must(t, err)
	recorded := m.State().ValueSegments
	must(t, m.Apply(&manifest.Edit{DropValueSegments: recorded}))
	must(t, m.Close())

	db = openTest(t, "/db", o)
	state, err := manifest.Load(mem, "/db")
	must(t, err)
	if !slices.Equal(state.ValueSegments, recorded) {
		t.Fatalf("adopted live set %v, want %v", state.ValueSegments, recorded)
	}
	res, err := db.RunValueLogGC(0.1)
	must(t, err)
	if !res.Collected {
		t.Fatal("GC collected nothing")
	}
	overwrite(t, db, 300, 1)
	must(t, db.Flush())
}
