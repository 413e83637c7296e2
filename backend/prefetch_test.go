package backend_test

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/vfs"
	"github.com/nokv/nokv/vlog"
)

// prefetchStore holds 600 keys: most with values in the value log, every
// seventh inline, every eleventh deleted, spread over tables and the
// memtable.
func prefetchStore(t *testing.T) (*backend.DB, map[string][]byte) {
	o := smallOptions(vfs.NewMem())
	o.NewValueStore = vlog.NewWithOptions(vlog.Options{SegmentSize: 64 << 10, CacheSize: -1})
	o.ValueLogGCInterval = -1
	db := openTest(t, "/db", o)
	want := map[string][]byte{}
	for i := 0; i < 600; i++ {
		k := fmt.Sprintf("k%05d", i)
		v := bytes.Repeat([]byte{byte(i)}, 100+i%300)
		if i%7 == 0 {
			v = v[:10] // inline
		}
		must(t, db.Set([]byte(k), v, nil))
		want[k] = v
		if i == 400 {
			must(t, db.Flush())
		}
	}
	for i := 0; i < 600; i += 11 {
		k := fmt.Sprintf("k%05d", i)
		must(t, db.Delete([]byte(k), nil))
		delete(want, k)
	}
	return db, want
}

// TestIteratorPrefetch scans with values read ahead: every value must be
// right whether the caller reads every value, skips some, seeks, or turns
// around, and a snapshot iterator must read its own version.
func TestIteratorPrefetch(t *testing.T) {
	db, want := prefetchStore(t)
	for _, ahead := range []int{1, 3, 16} {
		it, err := db.NewIterator(&backend.IterOptions{PrefetchValues: ahead})
		must(t, err)
		n := 0
		check := func() {
			t.Helper()
			v, err := it.Value()
			if err != nil || !bytes.Equal(v, want[string(it.Key())]) {
				t.Fatalf("ahead %d: %s = %d bytes, %v; want %d bytes", ahead, it.Key(), len(v), err, len(want[string(it.Key())]))
			}
		}
		for ok := it.First(); ok; ok = it.Next() {
			if n++; n%5 != 0 { // skip some values
				check()
			}
			switch n {
			case 100:
				if !it.Seek([]byte("k00300")) {
					t.Fatal("seek")
				}
				check()
			case 200:
				for i := 0; i < 10 && it.Prev(); i++ {
					check()
				}
			}
		}
		must(t, it.Err())
		must(t, it.Close())
	}
	if got := db.Stats().ValuesPrefetched; got < 600 {
		t.Fatalf("%d values served by prefetch over three scans, want most of them", got)
	}

	// A snapshot keeps its version while newer values arrive.
	snap := db.NewSnapshot()
	defer snap.Release()
	for k := range want {
		must(t, db.Set([]byte(k), []byte("newer value, long enough to be separated into the log"), nil))
	}
	it, err := snap.NewIterator(&backend.IterOptions{PrefetchValues: 8, LowerBound: []byte("k00100")})
	must(t, err)
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		if err != nil || !bytes.Equal(v, want[string(it.Key())]) {
			t.Fatalf("snapshot: %s = %q, %v", it.Key(), v, err)
		}
		n++
	}
	must(t, it.Close())
	if n == 0 {
		t.Fatal("snapshot iterator saw nothing")
	}
}

// TestIteratorPrefetchCloseEarly closes prefetching iterators after a few
// values: their goroutines must all exit.
func TestIteratorPrefetchCloseEarly(t *testing.T) {
	db, _ := prefetchStore(t)
	before := runtime.NumGoroutine()
	for range 20 {
		it, err := db.NewIterator(&backend.IterOptions{PrefetchValues: 32})
		must(t, err)
		it.First()
		for i := 0; i < 3 && it.Valid(); i++ {
			if _, err := it.Value(); err != nil {
				t.Fatal(err)
			}
			it.Next()
		}
		must(t, it.Close())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after closing the iterators:\n%s",
				before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkScanPrefetch scans 4 KiB values in the value log (read cache
// off, so every value is a file read) with and without read-ahead, from the
// page cache and from a device that takes 100µs per read.
func BenchmarkScanPrefetch(b *testing.B) {
	for _, latency := range []time.Duration{0, 100 * time.Microsecond} {
		o := smallOptions(slowFS{vfs.Default, latency})
		o.MemtableSize = 4 << 20
		o.NewValueStore = vlog.NewWithOptions(vlog.Options{CacheSize: -1})
		o.ValueLogGCInterval = -1
		dir := b.TempDir()
		db, err := backend.Open(dir, o)
		must(b, err)
		v := bytes.Repeat([]byte("v"), 4096)
		for i := 0; i < 5000; i++ {
			must(b, db.Set([]byte(fmt.Sprintf("k%06d", i)), v, nil))
		}
		must(b, db.Flush())
		for _, ahead := range []int{0, 4, 16} {
			b.Run(fmt.Sprintf("latency=%v/ahead=%d", latency, ahead), func(b *testing.B) {
				b.SetBytes(int64(len(v)))
				n := 0
				for n < b.N {
					it, err := db.NewIterator(&backend.IterOptions{PrefetchValues: ahead})
					must(b, err)
					for ok := it.First(); ok && n < b.N; ok = it.Next() {
						if _, err := it.Value(); err != nil {
							b.Fatal(err)
						}
						n++
					}
					must(b, it.Close())
				}
			})
		}
		must(b, db.Close())
	}
}

// slowFS adds a latency to every positioned read of a value-log segment,
// like a device that is not in the page cache.
type slowFS struct {
	vfs.FS
	latency time.Duration
}

type slowFile struct {
	vfs.File
	latency time.Duration
}

func (f slowFS) wrap(name string, file vfs.File, err error) (vfs.File, error) {
	if err != nil || f.latency == 0 || !strings.HasSuffix(name, ".vlog") {
		return file, err
	}
	return slowFile{file, f.latency}, nil
}

func (f slowFS) Open(name string) (vfs.File, error) {
	file, err := f.FS.Open(name)
	return f.wrap(name, file, err)
}

func (f slowFS) OpenAppend(name string) (vfs.File, error) {
	file, err := f.FS.OpenAppend(name)
	return f.wrap(name, file, err)
}

func (f slowFS) Create(name string) (vfs.File, error) {
	file, err := f.FS.Create(name)
	return f.wrap(name, file, err)
}

func (f slowFile) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(f.latency)
	return f.File.ReadAt(p, off)
}
