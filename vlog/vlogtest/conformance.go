// Package vlogtest holds the suite every iface.ValueStore implementation must
// pass. An implementation's test calls RunConformance with its constructor;
// this package's own test runs it over the value log and the inline store.
//
// The suite checks the contract of iface.ValueStore as the engine relies on
// it: which entries a store may change and how, that a pointer it hands out
// reads back the value (appended to dst), that the input buffers are not
// retained, that synced values survive a reopen, that reads are safe during
// writes, and that a pointer the store never handed out is reported as
// corruption rather than read.
package vlogtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// Threshold is the separation threshold the suite opens stores with.
const Threshold = 64

// RunConformance runs the suite over newStore as subtests of t. Each subtest
// opens stores on a fresh in-memory file system.
func RunConformance(t *testing.T, newStore iface.NewValueStore) {
	t.Run("Name", func(t *testing.T) { testName(t, newStore) })
	t.Run("WriteRead", func(t *testing.T) { testWriteRead(t, newStore) })
	t.Run("NotRetained", func(t *testing.T) { testNotRetained(t, newStore) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newStore) })
	t.Run("BogusPointer", func(t *testing.T) { testBogusPointer(t, newStore) })
	t.Run("ConcurrentReads", func(t *testing.T) { testConcurrentReads(t, newStore) })
	t.Run("AddDiscard", func(t *testing.T) { testAddDiscard(t, newStore) })
}

// open opens a store in dir on fs and closes it at the end of the test
// unless the test closed it (a second Close may fail; that is ignored).
func open(t *testing.T, newStore iface.NewValueStore, fs vfs.FS, dir string) iface.ValueStore {
	t.Helper()
	s, err := newStore(iface.ValueStoreOptions{FS: fs, Dir: dir, Threshold: Threshold})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// written is one entry of a batch as written, with its value as the caller
// gave it.
type written struct {
	entry iface.Entry
	value []byte
}

func makeValue(rng *rand.Rand, n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte('a' + rng.IntN(26))
	}
	return v
}

// writeBatch writes entries made from sizes (-1 = tombstone) and checks what
// the store did with each.
func writeBatch(t *testing.T, s iface.ValueStore, rng *rand.Rand, version uint64, sizes []int) []written {
	t.Helper()
	entries := make([]iface.Entry, len(sizes))
	out := make([]written, len(sizes))
	for i, n := range sizes {
		e := iface.Entry{Key: fmt.Appendf(nil, "key-%d-%d", version, i), Version: version, Kind: iface.KindSet}
		if n < 0 {
			e.Kind = iface.KindDelete
		} else {
			e.Value = makeValue(rng, n)
		}
		if i%3 == 1 {
			e.ExpiresAt = 1_900_000_000 + uint64(i)
		}
		entries[i] = e
		out[i].value = append([]byte(nil), e.Value...)
	}
	if err := s.Write(entries); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for i := range entries {
		e := entries[i]
		out[i].entry = e
		want := sizes[i]
		switch {
		case want < 0:
			if e.Kind != iface.KindDelete || len(e.Value) != 0 {
				t.Fatalf("entry %d: a tombstone became kind %v value %q", i, e.Kind, e.Value)
			}
		case want < Threshold:
			if e.Kind != iface.KindSet || !bytes.Equal(e.Value, out[i].value) {
				t.Fatalf("entry %d: a %d-byte value below the threshold was changed to kind %v", i, want, e.Kind)
			}
		case e.Kind.Base() == iface.KindSet:
			if !bytes.Equal(e.Value, out[i].value) {
				t.Fatalf("entry %d: kept inline but its value changed", i)
			}
		case e.Kind.Base() == iface.KindPointer:
			if len(e.Value) != iface.ValuePtrLen {
				t.Fatalf("entry %d: pointer of %d bytes", i, len(e.Value))
			}
			if _, err := iface.DecodeValuePtr(e.Value); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		default:
			t.Fatalf("entry %d: kind %v after Write", i, e.Kind)
		}
		if !bytes.Equal(e.Key, entries[i].Key) || e.Version != version || e.ExpiresAt != entries[i].ExpiresAt {
			t.Fatalf("entry %d: key, version or expiry changed", i)
		}
	}
	return out
}

// checkRead reads every pointer entry back, appending to a non-empty dst.
func checkRead(t *testing.T, s iface.ValueStore, ws []written) {
	t.Helper()
	for i, w := range ws {
		if w.entry.Kind.Base() != iface.KindPointer {
			continue
		}
		p, _ := iface.DecodeValuePtr(w.entry.Value)
		prefix := []byte("prefix:")
		got, err := s.Read(p, append([]byte(nil), prefix...))
		if err != nil {
			t.Fatalf("Read(entry %d, %+v): %v", i, p, err)
		}
		if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], w.value) {
			t.Fatalf("Read(entry %d) = %d bytes, want the prefix and the %d-byte value", i, len(got), len(w.value))
		}
	}
}

func testName(t *testing.T, newStore iface.NewValueStore) {
	s := open(t, newStore, vfs.NewMem(), "/vs")
	if s.Name() == "" {
		t.Fatal("empty Name")
	}
}

func testWriteRead(t *testing.T, newStore iface.NewValueStore) {
	s := open(t, newStore, vfs.NewMem(), "/vs")
	rng := rand.New(rand.NewPCG(1, 2))
	var all []written
	all = append(all, writeBatch(t, s, rng, 1, []int{0, 1, Threshold - 1, Threshold, Threshold + 1, -1, 5000})...)
	all = append(all, writeBatch(t, s, rng, 2, []int{Threshold * 4})...)
	all = append(all, writeBatch(t, s, rng, 3, []int{-1, 3})...)
	for v := uint64(4); v < 40; v++ {
		sizes := make([]int, 1+rng.IntN(8))
		for i := range sizes {
			sizes[i] = rng.IntN(3 * Threshold)
		}
		all = append(all, writeBatch(t, s, rng, v, sizes)...)
	}
	if err := s.Write(nil); err != nil {
		t.Fatalf("Write(nil): %v", err)
	}
	checkRead(t, s, all)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	checkRead(t, s, all)
}

func testNotRetained(t *testing.T, newStore iface.NewValueStore) {
	s := open(t, newStore, vfs.NewMem(), "/vs")
	value := bytes.Repeat([]byte{'x'}, 2*Threshold)
	entries := []iface.Entry{{Key: []byte("k"), Version: 1, Kind: iface.KindSet, Value: value}}
	if err := s.Write(entries); err != nil {
		t.Fatal(err)
	}
	for i := range value {
		value[i] = 'y'
	}
	if entries[0].Kind.Base() != iface.KindPointer {
		return // kept inline: the entry aliases the caller's buffer by design
	}
	p, _ := iface.DecodeValuePtr(entries[0].Value)
	got, err := s.Read(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{'x'}, 2*Threshold)) {
		t.Fatal("the store retained the caller's value buffer")
	}
	// The pointers of two calls do not share memory.
	e2 := []iface.Entry{{Key: []byte("k2"), Version: 2, Kind: iface.KindSet, Value: value}}
	if err := s.Write(e2); err != nil {
		t.Fatal(err)
	}
	if p2, _ := iface.DecodeValuePtr(entries[0].Value); p2 != p {
		t.Fatal("a later Write changed an earlier pointer")
	}
}

func testReopen(t *testing.T, newStore iface.NewValueStore) {
	fs := vfs.NewMem()
	s := open(t, newStore, fs, "/vs")
	rng := rand.New(rand.NewPCG(3, 4))
	var all []written
	for v := uint64(1); v <= 20; v++ {
		all = append(all, writeBatch(t, s, rng, v, []int{Threshold * int(v), 10, -1})...)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, newStore, fs, "/vs")
	checkRead(t, s2, all)
	more := writeBatch(t, s2, rng, 21, []int{Threshold * 2})
	checkRead(t, s2, append(all, more...))
	// A crash after Sync keeps everything synced.
	if err := s2.Sync(); err != nil {
		t.Fatal(err)
	}
	s3 := open(t, newStore, fs.Crash(), "/vs")
	checkRead(t, s3, append(all, more...))
}

func testBogusPointer(t *testing.T, newStore iface.NewValueStore) {
	s := open(t, newStore, vfs.NewMem(), "/vs")
	rng := rand.New(rand.NewPCG(5, 6))
	writeBatch(t, s, rng, 1, []int{Threshold * 2})
	for _, p := range []iface.ValuePtr{
		{Segment: 0xfffffff0, Offset: 16, Len: 100},
		{Segment: 0, Offset: 0, Len: 0},
	} {
		if _, err := s.Read(p, nil); !errors.Is(err, iface.ErrCorruption) {
			t.Fatalf("Read(%+v) = %v, want corruption", p, err)
		}
	}
}

func testConcurrentReads(t *testing.T, newStore iface.NewValueStore) {
	s := open(t, newStore, vfs.NewMem(), "/vs")
	rng := rand.New(rand.NewPCG(7, 8))
	var (
		mu  sync.Mutex
		all = writeBatch(t, s, rng, 1, []int{Threshold, 2 * Threshold})
	)
	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(seed, 9))
			var dst []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				w := all[rr.IntN(len(all))]
				mu.Unlock()
				if w.entry.Kind.Base() != iface.KindPointer {
					continue
				}
				p, _ := iface.DecodeValuePtr(w.entry.Value)
				var err error
				dst, err = s.Read(p, dst[:0])
				if err == nil && !bytes.Equal(dst, w.value) {
					err = fmt.Errorf("Read(%+v) returned a wrong value", p)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(uint64(r))
	}
	for v := uint64(2); v < 200; v++ {
		ws := writeBatch(t, s, rng, v, []int{rng.IntN(4 * Threshold), rng.IntN(4 * Threshold)})
		mu.Lock()
		all = append(all, ws...)
		mu.Unlock()
		if v%50 == 0 {
			if err := s.Sync(); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func testAddDiscard(t *testing.T, newStore iface.NewValueStore) {
	s := open(t, newStore, vfs.NewMem(), "/vs")
	rng := rand.New(rand.NewPCG(9, 10))
	ws := writeBatch(t, s, rng, 1, []int{Threshold * 3, Threshold * 5})
	s.AddDiscard(nil)
	s.AddDiscard(map[uint32]int64{})
	s.AddDiscard(map[uint32]int64{0: 5, 1: 100, 99999: 1 << 40})
	checkRead(t, s, ws)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
