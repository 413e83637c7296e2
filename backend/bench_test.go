package backend_test

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nokv/nokv/backend"
)

// BenchmarkSyncedWrites measures synced single-entry writes with 1 to 16
// concurrent writers: the commit pipeline should turn many writers into
// few fsyncs.
func BenchmarkSyncedWrites(b *testing.B) {
	for _, writers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			benchWrites(b, writers, true)
		})
	}
}

// BenchmarkWrites measures unsynced single-entry writes of 100-byte values.
func BenchmarkWrites(b *testing.B) {
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			benchWrites(b, writers, false)
		})
	}
}

func benchWrites(b *testing.B, writers int, synced bool) {
	db, err := backend.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 100)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(116)
	b.ResetTimer()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var key [16]byte
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				binary.BigEndian.PutUint64(key[:], uint64(i)*0x9E3779B97F4A7C15)
				binary.BigEndian.PutUint64(key[8:], uint64(i))
				b2 := backend.NewBatch()
				b2.Set(key[:], value)
				if err := db.Apply(b2, &backend.WriteOptions{Sync: synced}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	st := db.Stats()
	b.ReportMetric(float64(st.Batches)/float64(max(st.CommitGroups, 1)), "batches/group")
}

// BenchmarkShortScan measures a seek and 10 steps over a memtable holding
// 300,000 random keys (nothing flushed), with the memtable in segments of
// 16 and 8 MiB and in one piece: a seek positions an iterator per segment.
func BenchmarkShortScan(b *testing.B) {
	for _, seg := range []int64{-1, 16 << 20, 8 << 20} {
		b.Run(fmt.Sprintf("segment=%d", max(seg, 0)>>20), func(b *testing.B) {
			db, err := backend.Open(b.TempDir(), &backend.Options{MemtableSegmentSize: seg, DisableBackgroundWork: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			const n = 300_000
			key := func(i uint64) []byte {
				var k [16]byte
				binary.BigEndian.PutUint64(k[:], i*0x9E3779B97F4A7C15)
				binary.BigEndian.PutUint64(k[8:], i)
				return k[:]
			}
			value := make([]byte, 100)
			for i := range uint64(n) {
				if err := db.Set(key(i), value, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := uint64(0); b.Loop(); i++ {
				it, err := db.NewIterator(nil)
				if err != nil {
					b.Fatal(err)
				}
				ok := it.Seek(key(i % n))
				for j := 0; ok && j < 10; j++ {
					ok = it.Next()
				}
				it.Close()
			}
		})
	}
}
