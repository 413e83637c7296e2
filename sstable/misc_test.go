package sstable

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
)

func TestFormatBasics(t *testing.T) {
	f := New(Options{})
	if f.Name() != "sstable/v1" {
		t.Fatal(f.Name())
	}
	o := f.Options()
	if o.BlockSize != DefaultBlockSize || o.RestartInterval != DefaultRestartInterval ||
		o.BloomBitsPerKey != DefaultBloomBitsPerKey || o.Compression != SnappyCompression {
		t.Fatalf("defaults %+v", o)
	}
	if SnappyCompression.String() != "snappy" || Compression(9).String() != "compression(9)" {
		t.Fatal("compression names")
	}
}

func TestEstimatedSize(t *testing.T) {
	ref := genEntries(rand.New(rand.NewPCG(13, 14)), 5000)
	f := New(Options{})
	m := &memFile{}
	b := f.NewBuilder(m)
	var prev int64
	for i, e := range ref {
		if err := b.Add(e.k, e.v); err != nil {
			t.Fatal(err)
		}
		est := b.EstimatedSize()
		// Once a compression ratio is known, it may dip when a block is
		// compressed, but not by much.
		if (i > 100 && float64(est) < 0.9*float64(prev)) || (i == len(ref)/2 && est < int64(len(m.b))) {
			t.Fatalf("estimate %d after %d", est, prev)
		}
		prev = est
	}
	props, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if props.FileSize != uint64(len(m.b)) {
		t.Fatalf("FileSize %d, file %d", props.FileSize, len(m.b))
	}
	if ratio := float64(prev) / float64(props.FileSize); ratio < 0.9 || ratio > 1.1 {
		t.Fatalf("estimate %d for a table of %d", prev, props.FileSize)
	}
}

func TestAbort(t *testing.T) {
	m := &memFile{}
	b := New(Options{}).NewBuilder(m)
	if err := b.Add(iface.MakeKey(nil, []byte("a"), 1), []byte{1}); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if err := b.Add(iface.MakeKey(nil, []byte("b"), 1), []byte{1}); err == nil {
		t.Fatal("Add after Abort")
	}
	if _, err := b.Finish(); err == nil {
		t.Fatal("Finish after Abort")
	}
}

// failFile fails every Write after the first n bytes and every Sync.
type failFile struct {
	memFile
	n int
}

var errInjected = errors.New("injected")

func (f *failFile) Write(p []byte) (int, error) {
	if len(f.b)+len(p) > f.n {
		return 0, errInjected
	}
	return f.memFile.Write(p)
}
func (f *failFile) Sync() error { return errInjected }

func TestWriteErrors(t *testing.T) {
	ref := genEntries(rand.New(rand.NewPCG(15, 16)), 20000)
	for _, limit := range []int{0, 100, 300 << 10, 1 << 40} {
		b := New(Options{}).NewBuilder(&failFile{n: limit})
		var err error
		for _, e := range ref {
			if err = b.Add(e.k, e.v); err != nil {
				break
			}
		}
		if err == nil {
			_, err = b.Finish()
		}
		if !errors.Is(err, errInjected) {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
}

// TestConcurrentReads shares one reader (and its cache) among goroutines.
func TestConcurrentReads(t *testing.T) {
	ref := genEntries(rand.New(rand.NewPCG(17, 18)), 5000)
	cache := NewCache(64 << 10) // small: evictions happen
	defer cache.Close()
	f := New(Options{Cache: cache, BlockSize: 512})
	r, err := openBytes(f, buildBytes(t, f, ref))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 99))
			it := r.NewIterator()
			defer it.Close()
			for range 500 {
				e := ref[rng.IntN(len(ref))]
				k, v, ok, err := r.Get(e.k)
				if err != nil || !ok || !bytes.Equal(k, e.k) || !bytes.Equal(v, e.v) {
					t.Errorf("Get(%q) = %q %q %v %v", e.k, k, v, ok, err)
					return
				}
				if !it.SeekGE(e.k) || !bytes.Equal(it.Key(), e.k) {
					t.Errorf("SeekGE(%q)", e.k)
					return
				}
				for range 20 {
					it.Next()
				}
			}
		})
	}
	wg.Wait()
}

func TestCacheKeysDoNotCollide(t *testing.T) {
	c := NewCache(1 << 20)
	defer c.Close()
	c.set(1, 0, []byte("one"))
	c.set(2, 0, []byte("two"))
	c.wait()
	if b, ok := c.get(1, 0); ok && string(b) != "one" {
		t.Fatal(string(b))
	}
	if b, ok := c.get(2, 0); ok && string(b) != "two" {
		t.Fatal(string(b))
	}
	if _, ok := c.get(3, 0); ok {
		t.Fatal("phantom block")
	}
	var nilCache *Cache
	if nilCache.Stats() != (CacheStats{}) {
		t.Fatal("nil stats")
	}
	nilCache.Close()
	empty := NewCache(0)
	empty.set(1, 0, []byte("x"))
	if _, ok := empty.get(1, 0); ok {
		t.Fatal("zero-capacity cache holds a block")
	}
}

// TestCompressible stores highly compressible values: Snappy must shrink the
// table, and the reader's expansion bound must not reject real blocks.
func TestCompressible(t *testing.T) {
	var ref []kv
	for i := range 2000 {
		v := iface.EncodeValue(nil, iface.KindSet, 0, make([]byte, 1+i%3000))
		ref = append(ref, kv{iface.MakeKey(nil, []byte{byte(i >> 8), byte(i)}, 1), v})
	}
	sizes := map[Compression]int{}
	for _, c := range []Compression{NoCompression, SnappyCompression} {
		f := New(Options{Compression: c, BlockSize: 64 << 10})
		data := buildBytes(t, f, ref)
		sizes[c] = len(data)
		r, err := openBytes(f, data)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify(); err != nil {
			t.Fatal(err)
		}
		for _, e := range ref[:100] {
			if _, v, ok, err := r.Get(e.k); !ok || err != nil || !bytes.Equal(v, e.v) {
				t.Fatalf("Get(%q): %v %v", e.k, ok, err)
			}
		}
	}
	if sizes[SnappyCompression]*10 > sizes[NoCompression] {
		t.Fatalf("snappy table %d bytes, plain %d", sizes[SnappyCompression], sizes[NoCompression])
	}
}
