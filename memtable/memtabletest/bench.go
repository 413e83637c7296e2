package memtabletest

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nokv/nokv/iface"
)

// Benchmark shape: 16-byte user keys (24-byte internal keys), 100-byte
// values, 64 MiB memtables. A memtable that fills up (ErrFull, or an
// ApproximateSize past the capacity for implementations that never return
// ErrFull) is replaced by a fresh one, as the engine would rotate it.
const (
	benchCapacity = 64 << 20
	benchValueLen = 100
)

var benchValue = make([]byte, benchValueLen)

// mix is splitmix64's finalizer: a cheap bijection that scatters i.
func mix(i uint64) uint64 {
	i += 0x9e3779b97f4a7c15
	i = (i ^ i>>30) * 0xbf58476d1ce4e5b9
	i = (i ^ i>>27) * 0x94d049bb133111eb
	return i ^ i>>31
}

// benchKey writes the internal key of the i-th benchmark key into dst (which
// must hold 24 bytes): sequential keys count up, random ones are scattered.
func benchKey(dst []byte, i uint64, random bool) []byte {
	hi, lo := uint64(0), i
	if random {
		hi, lo = mix(i), mix(^i)
	}
	binary.BigEndian.PutUint64(dst[0:], hi)
	binary.BigEndian.PutUint64(dst[8:], lo)
	binary.BigEndian.PutUint64(dst[16:], ^uint64(1)) // version 1
	return dst[:24]
}

func full(m iface.Memtable, err error) bool {
	return errors.Is(err, iface.ErrFull) || m.ApproximateSize() >= benchCapacity
}

// BenchAdd measures Add from one goroutine, with sequential or random keys.
func BenchAdd(b *testing.B, newMem iface.NewMemtable, random bool) {
	opts := iface.MemtableOptions{Capacity: benchCapacity}
	m := newMem(opts)
	var buf [24]byte
	b.SetBytes(24 + benchValueLen)
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		k := benchKey(buf[:], i, random)
		i++
		if err := m.Add(k, benchValue); full(m, err) {
			b.StopTimer()
			m = newMem(opts)
			if err != nil {
				if err := m.Add(k, benchValue); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		} else if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchAddParallel measures Add of random keys from GOMAXPROCS goroutines
// sharing one memtable.
func BenchAddParallel(b *testing.B, newMem iface.NewMemtable) {
	opts := iface.MemtableOptions{Capacity: benchCapacity}
	var cur atomic.Pointer[iface.Memtable]
	first := newMem(opts)
	cur.Store(&first)
	var rotate sync.Mutex
	var seq atomic.Uint64
	b.SetBytes(24 + benchValueLen)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf [24]byte
		base := seq.Add(1) << 40 // disjoint key streams per goroutine
		for i := base; pb.Next(); i++ {
			k := benchKey(buf[:], i, true)
			for {
				mp := cur.Load()
				err := (*mp).Add(k, benchValue)
				if !full(*mp, err) {
					if err != nil {
						b.Error(err)
						return
					}
					break
				}
				rotate.Lock()
				if cur.Load() == mp {
					m := newMem(opts)
					cur.Store(&m)
				}
				rotate.Unlock()
				if err == nil {
					break
				}
			}
		}
	})
}

// BenchGet measures Get of present keys, looked up at the newest version,
// in a memtable of 1<<17 random keys.
func BenchGet(b *testing.B, newMem iface.NewMemtable) {
	const n = 1 << 17
	m := newMem(iface.MemtableOptions{Capacity: benchCapacity})
	var buf [24]byte
	for i := range uint64(n) {
		if err := m.Add(benchKey(buf[:], i, true), benchValue); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		k := benchKey(buf[:], i%n, true)
		binary.BigEndian.PutUint64(k[16:], ^iface.MaxVersion)
		i++
		if _, _, ok := m.Get(k); !ok {
			b.Fatal("key not found")
		}
	}
}
