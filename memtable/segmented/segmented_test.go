package segmented

import (
	"fmt"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/btree"
	"github.com/nokv/nokv/memtable/memtabletest"
	"github.com/nokv/nokv/memtable/skiplist"
)

// Segment sizes small enough that the suites' data spans many segments.
var sizes = []int64{4 << 10, 64 << 10}

func TestConformance(t *testing.T) {
	for _, size := range sizes {
		t.Run(fmt.Sprintf("skiplist/%d", size), func(t *testing.T) { memtabletest.RunConformance(t, Wrap(skiplist.New, size)) })
		t.Run(fmt.Sprintf("btree/%d", size), func(t *testing.T) { memtabletest.RunConformance(t, Wrap(btree.New, size)) })
	}
}

// TestDifferential runs the same random operations (replacements and
// prefix keys frequent, random versions) on a segmented skiplist and a
// plain one.
func TestDifferential(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 3
	}
	for _, size := range sizes {
		for seed := range int64(seeds) {
			memtabletest.RunDifferential(t, Wrap(skiplist.New, size), skiplist.New, seed)
		}
	}
}

// TestSegmentsFill checks that a segmented memtable starts segments as it
// fills, takes about its capacity before ErrFull, and that a small
// capacity is not wrapped at all.
func TestSegmentsFill(t *testing.T) {
	const seg, capacity = 64 << 10, 1 << 20
	if _, ok := Wrap(skiplist.New, seg)(iface.MemtableOptions{Capacity: seg}).(*Memtable); ok {
		t.Fatal("a capacity of one segment was wrapped")
	}
	m := Wrap(skiplist.New, seg)(iface.MemtableOptions{Capacity: capacity}).(*Memtable)
	value := make([]byte, 100)
	n := 0
	for ; ; n++ {
		err := m.Add(iface.MakeKey(nil, fmt.Appendf(nil, "k%08d", n*7919%100003), 1), value)
		if err == iface.ErrFull {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if m.Segments() < capacity/seg-1 {
		t.Fatalf("%d segments for %d entries", m.Segments(), n)
	}
	// The last segment may take the total up to one segment past the
	// capacity (Add is permissive: the engine bounds what it adds).
	if size := m.ApproximateSize(); size < capacity-2*seg || size > capacity+seg {
		t.Fatalf("full at %d bytes of %d", size, capacity)
	}
	if m.Len() != n {
		t.Fatalf("Len %d, added %d", m.Len(), n)
	}
	it := m.NewIterator()
	count := 0
	var prev []byte
	for ok := it.First(); ok; ok = it.Next() {
		if prev != nil && iface.Compare(prev, it.Key()) >= 0 {
			t.Fatalf("iterator out of order at %q", it.Key())
		}
		prev = it.Key()
		count++
	}
	if err := it.Close(); err != nil || count != n {
		t.Fatalf("iterated %d of %d entries (err %v)", count, n, err)
	}
}

// TestVersionsAcrossSegments writes versions of one key out of order across
// segments, as concurrent writers can, and checks Get picks the newest
// version at or below the one asked for, whichever segment holds it.
func TestVersionsAcrossSegments(t *testing.T) {
	m := Wrap(skiplist.New, 4<<10)(iface.MemtableOptions{Capacity: 1 << 20}).(*Memtable)
	filler := make([]byte, 1000)
	fill := func(tag string) { // push the chain to a new segment
		for i := 0; i < 8; i++ {
			if err := m.Add(iface.MakeKey(nil, fmt.Appendf(nil, "z-%s-%d", tag, i), 1), filler); err != nil {
				t.Fatal(err)
			}
		}
	}
	order := []uint64{5, 9, 3, 7, 12, 1}
	for _, v := range order {
		if err := m.Add(iface.MakeKey(nil, []byte("k"), v), fmt.Append(nil, v)); err != nil {
			t.Fatal(err)
		}
		fill(fmt.Sprint(v))
	}
	if m.Segments() < len(order) {
		t.Fatalf("only %d segments", m.Segments())
	}
	for read := uint64(0); read <= 14; read++ {
		var want uint64
		for _, v := range order {
			if v <= read && v > want {
				want = v
			}
		}
		k, v, ok := m.Get(iface.MakeKey(nil, []byte("k"), read))
		if want == 0 {
			if ok && string(iface.UserKey(k)) == "k" {
				t.Fatalf("read at %d found version %d", read, iface.Version(k))
			}
			continue
		}
		if !ok || iface.Version(k) != want || string(v) != fmt.Sprint(want) {
			t.Fatalf("read at %d: found %v version %d value %q, want %d", read, ok, iface.Version(k), v, want)
		}
	}
}

// TestConcurrentGrowth adds from several goroutines while segments are
// started; every entry must be found afterwards.
func TestConcurrentGrowth(t *testing.T) {
	m := Wrap(skiplist.New, 16<<10)(iface.MemtableOptions{Capacity: 8 << 20}).(*Memtable)
	const writers, per = 4, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				k := iface.MakeKey(nil, fmt.Appendf(nil, "w%d-%05d", w, i), uint64(i+1))
				if err := m.Add(k, []byte("value")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for w := range writers {
		for i := range per {
			k := iface.MakeKey(nil, fmt.Appendf(nil, "w%d-%05d", w, i), iface.MaxVersion)
			if got, _, ok := m.Get(k); !ok || iface.Version(got) != uint64(i+1) {
				t.Fatalf("w%d-%05d not found", w, i)
			}
		}
	}
	if m.Segments() < 10 {
		t.Fatalf("only %d segments", m.Segments())
	}
}

// TestFilter checks the filter has no false negatives and a false
// positive rate near what its size promises.
func TestFilter(t *testing.T) {
	f := newFilter(8 << 20) // 1M bits
	const n = 55_000        // an 8 MiB segment of 100-byte values
	for i := range n {
		f.add(filterHash(fmt.Appendf(nil, "key%09d", i)))
	}
	for i := range n {
		if !f.mayContain(filterHash(fmt.Appendf(nil, "key%09d", i))) {
			t.Fatalf("key %d added but not found", i)
		}
	}
	fp := 0
	const probes = 100_000
	for i := range probes {
		if f.mayContain(filterHash(fmt.Appendf(nil, "other%09d", i))) {
			fp++
		}
	}
	if rate := float64(fp) / probes; rate > 0.03 {
		t.Fatalf("false positive rate %.3f at %d bits per key", rate, (8<<20)/filterBytesPerBit/n)
	} else {
		t.Logf("false positive rate %.4f", rate)
	}
}
