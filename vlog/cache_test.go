package vlog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/nokv/nokv/vfs"
)

// TestReadCache reads values twice: the second read is a hit and returns
// the same bytes, a caller's changes to what Read returned never reach the
// cache, the cache stays within its bound, and a negative size disables it.
func TestReadCache(t *testing.T) {
	o := testOptions(vfs.NewMem())
	o.SegmentSize = 1 << 20
	o.CacheSize = 64 << 10
	s := openChecked(t, o)
	rng := rand.New(rand.NewPCG(3, 4))
	kvs := writeKVs(t, s, rng, 1, 100, 200, 300, 400)
	checkKVs(t, s, kvs)
	if st := s.Stats(); st.CacheMisses != 4 || st.CacheHits != 0 {
		t.Fatalf("first reads: %d hits, %d misses, want 0 and 4", st.CacheHits, st.CacheMisses)
	}
	v, err := s.Read(kvs[0].ptr, nil)
	if err != nil {
		t.Fatal(err)
	}
	clear(v) // must not reach the cache
	checkKVs(t, s, kvs)
	if st := s.Stats(); st.CacheHits != 5 || st.CacheMisses != 4 || st.Reads != 9 {
		t.Fatalf("after rereads: %+v, want 5 hits, 4 misses, 9 reads", st)
	}
	// Many more values than the cache holds, read concurrently.
	for v := uint64(2); v < 40; v++ {
		kvs = append(kvs, writeKVs(t, s, rng, v, 1000, 2000, 3000)...)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				checkKVs(t, s, kvs)
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.CacheBytes > o.CacheSize || st.CacheHits == 0 {
		t.Fatalf("cache holds %d bytes (bound %d), %d hits", st.CacheBytes, o.CacheSize, st.CacheHits)
	}

	o2 := testOptions(vfs.NewMem())
	o2.CacheSize = -1
	s2 := openChecked(t, o2)
	kvs = writeKVs(t, s2, rng, 1, 100)
	checkKVs(t, s2, kvs)
	checkKVs(t, s2, kvs)
	if st := s2.Stats(); st.CacheHits != 0 || st.CacheMisses != 0 || st.CacheBytes != 0 {
		t.Fatalf("disabled cache: %+v", st)
	}
}

func BenchmarkReadCached(b *testing.B) {
	for _, size := range []int64{-1, 32 << 20} {
		b.Run(fmt.Sprintf("cache=%d", size), func(b *testing.B) {
			o := testOptions(vfs.NewMem())
			o.SegmentSize = 64 << 20
			o.CacheSize = size
			s := openUnchecked(b, o)
			rng := rand.New(rand.NewPCG(1, 1))
			kvs := writeKVs(b, s, rng, 1, slices.Repeat([]int{4096}, 256)...)
			var dst []byte
			b.SetBytes(4096)
			b.ResetTimer()
			for i := range b.N {
				var err error
				if dst, err = s.Read(kvs[i%len(kvs)].ptr, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
