package backend_test

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/vlog"
)

// TestLargeStore fills a store with NOKV_LARGE keys (e.g. 5000000) of
// 100-byte values, reopens it and reads every key back, reporting the peak
// heap and resident set. It is skipped unless NOKV_LARGE is set:
//
//	NOKV_LARGE=5000000 go test -run TestLargeStore -v -timeout 60m ./backend/
func TestLargeStore(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NOKV_LARGE"))
	if n <= 0 {
		t.Skip("set NOKV_LARGE=<keys> to run")
	}
	dir := t.TempDir()
	o := &backend.Options{}
	key := func(i int) []byte {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(i)*0x9E3779B97F4A7C15)
		binary.BigEndian.PutUint64(b[8:], uint64(i))
		return b[:]
	}
	val := func(i int, buf []byte) []byte {
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for j := 0; j < len(buf); j += 8 {
			binary.LittleEndian.PutUint64(buf[j:], r.Uint64())
		}
		return buf[:100]
	}
	// sample measures the live heap (after a collection), which is what the
	// store holds; the resident set also counts garbage not yet collected.
	var peakHeap uint64
	sample := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peakHeap {
			peakHeap = ms.HeapInuse
			if p := os.Getenv("NOKV_HEAPPROFILE"); p != "" {
				f, err := os.Create(p)
				must(t, err)
				must(t, pprof.WriteHeapProfile(f))
				f.Close()
			}
		}
	}
	db, err := backend.Open(dir, o)
	must(t, err)
	start := time.Now()
	b := backend.NewBatch()
	buf := make([]byte, 104)
	for i := 0; i < n; i++ {
		b.Set(key(i), val(i, buf))
		if b.Len() == 1000 || i == n-1 {
			must(t, db.Apply(b, nil))
			b.Reset()
		}
		if i%500000 == 0 {
			sample()
		}
	}
	must(t, db.Close())
	t.Logf("filled %d keys in %v", n, time.Since(start))
	start = time.Now()
	db, err = backend.Open(dir, o)
	must(t, err)
	defer db.Close()
	t.Logf("reopened in %v; stats %+v", time.Since(start), db.Stats().Levels)
	start = time.Now()
	for i := 0; i < n; i++ {
		got, err := db.Get(key(i))
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if string(got) != string(val(i, buf)) {
			t.Fatalf("key %d: wrong value", i)
		}
		if i%500000 == 0 {
			sample()
		}
	}
	t.Logf("read back %d keys in %v", n, time.Since(start))
	sample()
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM") || strings.HasPrefix(line, "RssAnon") {
			t.Log(line)
		}
	}
	t.Logf("peak live heap: %d MiB (memtables %d MiB x %d, block cache %d MiB)", peakHeap>>20,
		db.Options().MemtableSize>>20, db.Options().MaxImmutableMemtables+1, db.Options().BlockCacheSize>>20)
}

// TestValueLogOverwriteSpace writes NOKV_VLOG_OVERWRITE keys (e.g. 1000000)
// of 4 KiB values twice over in random order into a value-log store,
// compacts, runs value-log GC, and reports disk usage over live data (the
// issue's target: at most 1.5). Skipped unless the variable is set:
//
//	NOKV_VLOG_OVERWRITE=1000000 go test -run TestValueLogOverwriteSpace -v -timeout 60m ./backend/
func TestValueLogOverwriteSpace(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NOKV_VLOG_OVERWRITE"))
	if n <= 0 {
		t.Skip("set NOKV_VLOG_OVERWRITE=<keys> to run")
	}
	dir := t.TempDir()
	o := &backend.Options{NewValueStore: vlog.New, ValueLogGCInterval: -1}
	db, err := backend.Open(dir, o)
	must(t, err)
	defer db.Close()
	const size = 4096
	val := make([]byte, size)
	start := time.Now()
	for pass := 0; pass < 2; pass++ {
		perm := rand.New(rand.NewPCG(uint64(pass), 9)).Perm(n)
		b := backend.NewBatch()
		for j, i := range perm {
			r := rand.New(rand.NewPCG(uint64(i), uint64(pass)))
			for k := 0; k < size; k += 8 {
				binary.LittleEndian.PutUint64(val[k:], r.Uint64())
			}
			b.Set([]byte(fmt.Sprintf("key%010d", i)), val)
			if b.Len() == 64 || j == n-1 {
				must(t, db.Apply(b, nil))
				b.Reset()
			}
		}
	}
	t.Logf("wrote %d x %d B twice in %v", n, size, time.Since(start))
	live := int64(n) * (size + 13)
	t.Logf("before GC: disk %.2f x live", float64(dirSize(t, dir))/float64(live))
	start = time.Now()
	must(t, db.CompactAll())
	t.Logf("compacted in %v: disk %.2f x live", time.Since(start), float64(dirSize(t, dir))/float64(live))
	start = time.Now()
	collected := 0
	for {
		res, err := db.RunValueLogGC(0.3)
		must(t, err)
		if !res.Collected {
			break
		}
		collected++
	}
	st := db.Stats()
	t.Logf("GC collected %d segments in %v; value log %d segments, %d MiB (%d MiB garbage)",
		collected, time.Since(start), st.ValueLogSegments, st.ValueLogBytes>>20, st.ValueLogGarbage>>20)
	ratio := float64(dirSize(t, dir)) / float64(live)
	t.Logf("after GC: disk %.2f x live data (%d MiB live)", ratio, live>>20)
	if ratio > 1.5 {
		t.Errorf("disk use %.2f x live data, above the 1.5 target", ratio)
	}
}

func dirSize(t *testing.T, dir string) (n int64) {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	must(t, err)
	return n
}
