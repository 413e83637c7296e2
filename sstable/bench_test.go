package sstable

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// benchEntries makes n entries with 16-byte user keys and 100-byte values.
func benchEntries(n int) []kv {
	rng := rand.New(rand.NewPCG(1, 1))
	out := make([]kv, n)
	for i := range out {
		payload := make([]byte, 99)
		for j := range payload {
			payload[j] = "abcdefgh"[rng.IntN(8)] // compressible, like real values
		}
		out[i] = kv{
			k: iface.MakeKey(nil, fmt.Appendf(nil, "user%012d", i), 100),
			v: iface.EncodeValue(nil, iface.KindSet, 0, payload),
		}
	}
	return out
}

func BenchmarkBuild(b *testing.B) {
	entries := benchEntries(100000)
	var bytes int64
	for _, e := range entries {
		bytes += int64(len(e.k) + len(e.v))
	}
	for _, c := range []Compression{NoCompression, SnappyCompression} {
		b.Run(c.String(), func(b *testing.B) {
			f := New(Options{Compression: c})
			path := filepath.Join(b.TempDir(), "b.sst")
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				buildFile(b, vfs.Default, path, f, entries)
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, size := range []int{10000, 100000} {
		entries := benchEntries(size)
		for _, cached := range []bool{true, false} {
			name := fmt.Sprintf("%s/%dk", map[bool]string{true: "cached", false: "uncached"}[cached], size/1000)
			b.Run(name, func(b *testing.B) { benchGet(b, entries, cached) })
		}
	}
	b.Run("absent", func(b *testing.B) {
		f := New(Options{})
		path := filepath.Join(b.TempDir(), "g.sst")
		buildFile(b, vfs.Default, path, f, benchEntries(100000))
		r := openFile(b, vfs.Default, path, f, 1)
		key := iface.MakeKey(nil, []byte("absent-key-0000"), 100)
		b.ReportAllocs()
		for b.Loop() {
			r.Get(key)
		}
	})
}

// benchGet looks up random present keys in a table of entries.
func benchGet(b *testing.B, entries []kv, cached bool) {
	opts := Options{}
	if cached {
		opts.Cache = NewCache(64 << 20)
		defer opts.Cache.Close()
	}
	f := New(opts)
	path := filepath.Join(b.TempDir(), "g.sst")
	buildFile(b, vfs.Default, path, f, entries)
	r := openFile(b, vfs.Default, path, f, 1)
	for _, e := range entries { // warm the cache
		r.Get(e.k)
	}
	opts.Cache.wait()
	before := opts.Cache.Stats()
	rng := rand.New(rand.NewPCG(2, 2))
	b.ReportAllocs()
	for b.Loop() {
		e := entries[rng.IntN(len(entries))]
		if _, _, ok, err := r.Get(e.k); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	if cached {
		s := opts.Cache.Stats()
		hits, misses := s.Hits-before.Hits, s.Misses-before.Misses
		b.ReportMetric(float64(hits)/float64(hits+misses), "hit-ratio")
	}
}

func BenchmarkIterate(b *testing.B) {
	entries := benchEntries(100000)
	for _, cached := range []bool{true, false} {
		name := map[bool]string{true: "cached", false: "uncached"}[cached]
		b.Run(name, func(b *testing.B) {
			opts := Options{}
			if cached {
				opts.Cache = NewCache(64 << 20)
				defer opts.Cache.Close()
			}
			f := New(opts)
			path := filepath.Join(b.TempDir(), "i.sst")
			buildFile(b, vfs.Default, path, f, entries)
			r := openFile(b, vfs.Default, path, f, 1)
			b.ReportAllocs()
			for _, dir := range []string{"forward", "reverse"} {
				b.Run(dir, func(b *testing.B) {
					b.ReportAllocs()
					it := r.NewIterator()
					defer it.Close()
					for b.Loop() {
						n := 0
						if dir == "forward" {
							for ok := it.First(); ok; ok = it.Next() {
								n++
							}
						} else {
							for ok := it.Last(); ok; ok = it.Prev() {
								n++
							}
						}
						if n != len(entries) {
							b.Fatal(n)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(entries)), "ns/entry")
				})
			}
		})
	}
}
