package vlog

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// BenchmarkWrite appends 16 KiB values on the OS file system, batch sizes
// 1 and 16, without and with a Sync per batch. Old segments are removed as
// the benchmark goes (timer stopped) so the disk holds at most a few.
func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{1, 16} {
		for _, sync := range []bool{false, true} {
			b.Run(fmt.Sprintf("16KiB/batch=%d/sync=%v", batch, sync), func(b *testing.B) {
				benchWrite(b, 16<<10, batch, sync)
			})
		}
	}
}

func benchWrite(b *testing.B, size, batch int, sync bool) {
	s, err := OpenWith(Options{FS: vfs.Default, Dir: b.TempDir(), SegmentSize: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	value := make([]byte, size)
	for i := range value {
		value[i] = byte(i * 7)
	}
	entries := make([]iface.Entry, batch)
	keys := make([][]byte, batch)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%08d", i)
	}
	b.SetBytes(int64(size * batch))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		for i := range entries {
			entries[i] = iface.Entry{Key: keys[i], Version: uint64(n), Kind: iface.KindSet, Value: value}
		}
		if err := s.Write(entries); err != nil {
			b.Fatal(err)
		}
		if sync {
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		if head := s.Head().Segment; head > 3 {
			b.StopTimer()
			for _, si := range s.Segments() {
				if si.Number+2 < head {
					if err := s.RemoveSegment(si.Number); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StartTimer()
		}
	}
}

// BenchmarkRead reads random 16 KiB values (from the page cache) through
// pointers, serially and from parallel goroutines.
func BenchmarkRead(b *testing.B) {
	const size, count = 16 << 10, 4096 // 64 MiB
	s, err := OpenWith(Options{FS: vfs.Default, Dir: b.TempDir(), SegmentSize: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	ptrs := make([]iface.ValuePtr, 0, count)
	value := make([]byte, size)
	for i := range count {
		for j := range value {
			value[j] = byte(rng.Uint32())
		}
		e := []iface.Entry{{Key: fmt.Appendf(nil, "key-%08d", i), Version: 1, Kind: iface.KindSet, Value: value}}
		if err := s.Write(e); err != nil {
			b.Fatal(err)
		}
		p, _ := iface.DecodeValuePtr(e[0].Value)
		ptrs = append(ptrs, p)
	}
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.Run("16KiB", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var dst []byte
		for i := 0; b.Loop(); i++ {
			var err error
			dst, err = s.Read(ptrs[(i*7919)%count], dst[:0])
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("16KiB/parallel", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var dst []byte
			i := rand.IntN(count)
			for pb.Next() {
				var err error
				dst, err = s.Read(ptrs[i%count], dst[:0])
				if err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
	})
}
