package skiplist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/memtabletest"
)

func TestConformance(t *testing.T) { memtabletest.RunConformance(t, New) }

// TestFull fills tiny arenas to the brim: Add must report iface.ErrFull, never
// panic, and leave what was added readable.
func TestFull(t *testing.T) {
	for _, capacity := range []int64{1, 64, 300, 1000, 4096, 100_000} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			m := New(iface.MemtableOptions{Capacity: capacity})
			var added [][]byte
			var err error
			for i := 0; ; i++ {
				k := iface.MakeKey(nil, fmt.Appendf(nil, "key%06d", i), 1)
				if err = m.Add(k, make([]byte, i%40)); err != nil {
					break
				}
				added = append(added, k)
			}
			if !errors.Is(err, iface.ErrFull) {
				t.Fatalf("Add on a full arena = %v, want ErrFull", err)
			}
			if m.Len() != len(added) {
				t.Fatalf("Len = %d, want %d", m.Len(), len(added))
			}
			if capacity >= 1000 && len(added) == 0 {
				t.Fatalf("a %d-byte arena took no entries", capacity)
			}
			if s := m.ApproximateSize(); s > max(capacity, int64(2*maxNodeSize)) {
				t.Errorf("ApproximateSize = %d exceeds the arena", s)
			}
			// Replacing a value needs arena space too.
			if len(added) > 0 {
				if err := m.Add(added[0], make([]byte, 200)); !errors.Is(err, iface.ErrFull) {
					t.Errorf("replace on a full arena = %v, want ErrFull", err)
				}
			}
			for i, k := range added {
				if gk, gv, ok := m.Get(k); !ok || string(gk) != string(k) || len(gv) != i%40 {
					t.Fatalf("Get(%q) after ErrFull = %q, %d bytes, %v", k, gk, len(gv), ok)
				}
			}
			it := m.NewIterator()
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				n++
			}
			if n != len(added) {
				t.Errorf("scan saw %d entries, want %d", n, len(added))
			}
		})
	}
}

// TestHuge checks an entry larger than any arena fails cleanly.
func TestHuge(t *testing.T) {
	m := New(iface.MemtableOptions{Capacity: 1 << 16})
	if err := m.Add(iface.MakeKey(nil, []byte("k"), 1), make([]byte, 1<<17)); !errors.Is(err, iface.ErrFull) {
		t.Fatalf("Add of an oversized value = %v, want ErrFull", err)
	}
	if err := m.Add(iface.MakeKey(nil, []byte("k"), 1), []byte("v")); err != nil {
		t.Fatalf("Add after a failed oversized Add: %v", err)
	}
}

// checkStructure verifies every level is in strict order and every node on
// a level above 0 is also on the level below.
func checkStructure(t *testing.T, s *Skiplist) {
	t.Helper()
	below := map[uint32]bool{}
	for i := 0; i < maxHeight; i++ {
		here := map[uint32]bool{}
		var prev []byte
		for off := s.arena.node(0).next(i); off != 0; off = s.arena.node(off).next(i) {
			k := s.key(off)
			if prev != nil && iface.Compare(prev, k) >= 0 {
				t.Fatalf("level %d out of order: %q then %q", i, prev, k)
			}
			if i > 0 && !below[off] {
				t.Fatalf("node %d is on level %d but not on level %d", off, i, i-1)
			}
			here[off], prev = true, k
		}
		if i == 0 && len(here) != s.Len() {
			t.Fatalf("level 0 holds %d nodes, Len = %d", len(here), s.Len())
		}
		if i >= int(s.height.Load()) && len(here) != 0 {
			t.Fatalf("level %d is above the height %d but holds nodes", i, s.height.Load())
		}
		below = here
	}
}

// TestConcurrentStructure has writers insert interleaved neighbours and the
// same keys at once, so that CAS races at every level are common, then checks
// the towers.
func TestConcurrentStructure(t *testing.T) {
	const writers, perWriter = 8, 3000
	s := New(iface.MemtableOptions{Capacity: 8 << 20}).(*Skiplist)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			var k []byte
			for i := range perWriter {
				// All writers add versions of the same user key at the same
				// time, so they fight over the same splices; writers w and
				// w^1 even add the same internal keys.
				k = iface.MakeKey(k[:0], binary.BigEndian.AppendUint32(nil, uint32(i)), uint64(w/2+1))
				if err := s.Add(k, []byte{byte(w)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if want := writers / 2 * perWriter; s.Len() != want {
		t.Fatalf("Len = %d, want %d", s.Len(), want)
	}
	checkStructure(t, s)
}

// TestLostRaces makes writers lose the race for their splice on purpose: a
// hook run between an Add's search and its linking adds neighbours of the
// key, or the key itself, so the CAS fails and the re-search paths (at every
// level, and the duplicate-key path) all run. The result must equal a plain
// map of the same writes.
func TestLostRaces(t *testing.T) {
	s := New(iface.MemtableOptions{Capacity: 8 << 20}).(*Skiplist)
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[string]string{}
	nested := false
	testHookBeforeLink = func(ikey []byte) {
		if nested || rng.IntN(2) == 0 {
			return
		}
		nested = true
		defer func() { nested = false }()
		for range 1 + rng.IntN(3) {
			k := iface.MakeKey(nil, iface.UserKey(ikey), uint64(rng.IntN(8)))
			if rng.IntN(4) == 0 {
				k = append([]byte(nil), ikey...) // the very key being added
			}
			if err := s.Add(k, []byte("nested")); err != nil {
				t.Fatal(err)
			}
			want[string(k)] = "nested"
		}
	}
	defer func() { testHookBeforeLink = nil }()
	for i := range 5000 {
		k := iface.MakeKey(nil, fmt.Appendf(nil, "%03d", rng.IntN(300)), uint64(rng.IntN(8)))
		v := fmt.Sprint("outer", i)
		if err := s.Add(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
		want[string(k)] = v // the outer Add finishes last, so its value wins
	}
	testHookBeforeLink = nil
	checkStructure(t, s)
	if s.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(want))
	}
	for k, v := range want {
		if gk, gv, ok := s.Get([]byte(k)); !ok || string(gk) != k || string(gv) != v {
			t.Fatalf("Get(%q) = %q %q %v, want %q", k, gk, gv, ok, v)
		}
	}
}

// TestChunkedGrowth adds entries of mixed sizes, some larger than a chunk,
// from several goroutines, so allocations cross chunk boundaries and large
// ones get chunks of their own; every entry must read back intact, the
// arena must allocate only what it uses, and the structure must hold.
func TestChunkedGrowth(t *testing.T) {
	const capacity = 64 << 20
	s := New(iface.MemtableOptions{Capacity: capacity}).(*Skiplist)
	if got := installedBytes(s.arena); got > chunkSize {
		t.Fatalf("a new arena allocated %d bytes up front", got)
	}
	const writers, per = 4, 300
	value := func(w, i int) []byte {
		n := (w*per + i) * 37 % 3000
		if i%97 == 0 {
			n = chunkSize + i*13 // larger than a chunk
		}
		v := make([]byte, n)
		for j := range v {
			v[j] = byte(w + i + j)
		}
		return v
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				k := iface.MakeKey(nil, fmt.Appendf(nil, "w%d-%05d", w, i), 1)
				if err := s.Add(k, value(w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkStructure(t, s)
	for w := range writers {
		for i := range per {
			k := iface.MakeKey(nil, fmt.Appendf(nil, "w%d-%05d", w, i), 1)
			_, v, ok := s.Get(k)
			if !ok || string(v) != string(value(w, i)) {
				t.Fatalf("entry w%d-%05d: found %v, value of %d bytes, want %d", w, i, ok, len(v), len(value(w, i)))
			}
		}
	}
	if got, used := installedBytes(s.arena), s.ApproximateSize(); got > 2*used+4*chunkSize {
		t.Fatalf("arena allocated %d bytes for %d used", got, used)
	}
}

// installedBytes sums the memory of an arena's chunks.
func installedBytes(a *arena) int64 {
	var n int64
	for _, p := range a.slots {
		if p != nil {
			n += chunkSize
		}
	}
	return n
}

// TestBigChunkGrowth fills arenas of several capacities: past bigFrom they
// grow in big steps, which must stay within the capacity (rounded up to a
// chunk, plus the skipped tails) however the capacity falls against the step.
func TestBigChunkGrowth(t *testing.T) {
	for _, capacity := range []int64{3 << 20, 5<<20 + 12345, 20 << 20, 64 << 20} {
		s := New(iface.MemtableOptions{Capacity: capacity}).(*Skiplist)
		value := make([]byte, 1000)
		n := 0
		for ; ; n++ {
			err := s.Add(iface.MakeKey(nil, fmt.Appendf(nil, "k%09d", n*7919%1000003), 1), value)
			if errors.Is(err, iface.ErrFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// Offsets run past the capacity by the chunk tails skipped when an
		// entry did not fit (they are not charged): one chunk at most here.
		rounded := (capacity+chunkSize-1)&^(chunkSize-1) + chunkSize
		if got := installedBytes(s.arena); got > rounded {
			t.Fatalf("capacity %d: %d entries, arena installed %d bytes, more than %d", capacity, n, got, rounded)
		}
		if used := s.ApproximateSize(); used < capacity-2*chunkSize {
			t.Fatalf("capacity %d: full at %d bytes", capacity, used)
		}
		checkStructure(t, s)
	}
}
