// Package memtabletest holds the suites every iface.Memtable implementation
// must pass, and benchmark helpers that measure them all the same way.
//
// RunConformance checks one implementation against the iface.Memtable
// contract and against a sorted reference model. RunDifferential runs the same
// seeded random operations on two implementations and requires identical
// results; this package's own tests run it over skiplist and btree. An
// implementation's test file calls RunConformance, and its benchmark file
// calls BenchAdd, BenchAddParallel and BenchGet.
package memtabletest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
)

// suiteCapacity is the Capacity every suite memtable gets; it is ample for the
// data the suite writes.
const suiteCapacity = 16 << 20

// RunConformance runs the memtable conformance suite over newMem as subtests
// of t. It is quick enough for -race on a small machine.
func RunConformance(t *testing.T, newMem iface.NewMemtable) {
	mk := func(t *testing.T) iface.Memtable {
		t.Helper()
		m := newMem(iface.MemtableOptions{Capacity: suiteCapacity})
		if m == nil {
			t.Fatal("constructor returned nil")
		}
		return m
	}
	t.Run("Empty", func(t *testing.T) { testEmpty(t, mk(t)) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, mk(t)) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, mk(t)) })
	t.Run("PrefixKeys", func(t *testing.T) { testPrefixKeys(t, mk(t)) })
	t.Run("Ownership", func(t *testing.T) { testOwnership(t, mk(t)) })
	t.Run("SizeGrows", func(t *testing.T) { testSizeGrows(t, mk(t)) })
	t.Run("IteratorRandom", func(t *testing.T) { testIteratorRandom(t, mk(t)) })
	t.Run("IterateDuringAdds", func(t *testing.T) { testIterateDuringAdds(t, mk(t)) })
	t.Run("ConcurrentAdds", func(t *testing.T) { testConcurrentAdds(t, mk(t)) })
}

func mustAdd(t *testing.T, m iface.Memtable, ikey, value []byte) {
	t.Helper()
	if err := m.Add(ikey, value); err != nil {
		t.Fatalf("Add(%s): %v", fmtKey(ikey), err)
	}
}

func key(user string, version uint64) []byte { return iface.MakeKey(nil, []byte(user), version) }

// expectGet checks Get(lookup) returns wantKey/wantValue, or a miss when
// wantKey is nil.
func expectGet(t *testing.T, m iface.Memtable, lookup, wantKey []byte, wantValue string) {
	t.Helper()
	k, v, ok := m.Get(lookup)
	switch {
	case wantKey == nil && ok:
		t.Errorf("Get(%s) = %s %q, want a miss", fmtKey(lookup), fmtKey(k), v)
	case wantKey == nil:
	case !ok:
		t.Errorf("Get(%s) missed, want %s %q", fmtKey(lookup), fmtKey(wantKey), wantValue)
	case !bytes.Equal(k, wantKey) || string(v) != wantValue:
		t.Errorf("Get(%s) = %s %q, want %s %q", fmtKey(lookup), fmtKey(k), v, fmtKey(wantKey), wantValue)
	}
}

// scan returns every entry forward (and checks the reverse scan agrees).
func scan(t *testing.T, m iface.Memtable) (keys, values []string) {
	t.Helper()
	it := m.NewIterator()
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, string(it.Key()))
		values = append(values, string(it.Value()))
	}
	i := len(keys)
	for ok := it.Last(); ok; ok = it.Prev() {
		i--
		if i < 0 || string(it.Key()) != keys[i] || string(it.Value()) != values[i] {
			t.Fatalf("reverse scan disagrees with forward scan at reverse position %d", len(keys)-1-i)
		}
	}
	if i != 0 {
		t.Fatalf("reverse scan saw %d entries, forward scan %d", len(keys)-i, len(keys))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterator error: %v", err)
	}
	return keys, values
}

func testEmpty(t *testing.T, m iface.Memtable) {
	if n := m.Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
	if s := m.ApproximateSize(); s < 0 {
		t.Errorf("ApproximateSize = %d, want >= 0", s)
	}
	expectGet(t, m, key("a", 1), nil, "")
	expectGet(t, m, key("", iface.MaxVersion), nil, "")
	it := m.NewIterator()
	for name, move := range map[string]func() bool{
		"First":  it.First,
		"Last":   it.Last,
		"SeekGE": func() bool { return it.SeekGE(key("a", 1)) },
		"SeekLT": func() bool { return it.SeekLT(key("a", 1)) },
	} {
		if move() || it.Valid() {
			t.Errorf("%s on an empty memtable is valid", name)
		}
	}
	if err := it.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func testVersions(t *testing.T, m iface.Memtable) {
	for _, u := range []string{"k1", "k2", "k3"} {
		for _, v := range []uint64{10, 5, 20, 1} { // out of order on purpose
			mustAdd(t, m, key(u, v), []byte(fmt.Sprintf("%s@%d", u, v)))
		}
	}
	for _, u := range []string{"k1", "k2", "k3"} {
		for _, c := range []struct{ read, want uint64 }{
			{iface.MaxVersion, 20}, {25, 20}, {20, 20}, {19, 10}, {10, 10},
			{7, 5}, {5, 5}, {4, 1}, {1, 1}, {0, 0},
		} {
			if c.want == 0 {
				expectGet(t, m, key(u, c.read), nil, "")
				continue
			}
			expectGet(t, m, key(u, c.read), key(u, c.want), fmt.Sprintf("%s@%d", u, c.want))
		}
	}
	for _, u := range []string{"", "k", "k0", "k10", "k4"} {
		expectGet(t, m, key(u, iface.MaxVersion), nil, "")
	}
	keys, _ := scan(t, m)
	var want []string
	for _, u := range []string{"k1", "k2", "k3"} {
		for _, v := range []uint64{20, 10, 5, 1} {
			want = append(want, string(key(u, v)))
		}
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("scan order:\n got %q\nwant %q", keys, want)
	}
	if n := m.Len(); n != 12 {
		t.Errorf("Len = %d, want 12", n)
	}
}

func testReplace(t *testing.T, m iface.Memtable) {
	k := key("dup", 7)
	mustAdd(t, m, key("dup", 8), []byte("newer"))
	mustAdd(t, m, k, []byte("first"))
	mustAdd(t, m, key("dup", 6), []byte("older"))
	mustAdd(t, m, k, []byte("second, and longer"))
	expectGet(t, m, k, k, "second, and longer")
	mustAdd(t, m, k, nil)
	expectGet(t, m, k, k, "")
	mustAdd(t, m, k, []byte("third"))
	expectGet(t, m, k, k, "third")
	expectGet(t, m, key("dup", 8), key("dup", 8), "newer")
	expectGet(t, m, key("dup", 6), key("dup", 6), "older")
	if n := m.Len(); n != 3 {
		t.Errorf("Len = %d after replacing, want 3", n)
	}
	keys, values := scan(t, m)
	if len(keys) != 3 || keys[1] != string(k) || values[1] != "third" {
		t.Errorf("scan after replace = %q %q", keys, values)
	}
}

func testPrefixKeys(t *testing.T, m iface.Memtable) {
	users := []string{"a", "ab", "a\x00", "", "\x00", "a\x00\x00", "b", "a\xff"}
	for i, u := range users {
		mustAdd(t, m, key(u, 5), []byte("v"+u))
		mustAdd(t, m, key(u, 3), []byte(fmt.Sprint("old", i)))
	}
	for i, u := range users {
		expectGet(t, m, key(u, iface.MaxVersion), key(u, 5), "v"+u)
		expectGet(t, m, key(u, 4), key(u, 3), fmt.Sprint("old", i))
		expectGet(t, m, key(u, 2), nil, "")
	}
	// User keys absent from the table, each adjacent to present ones.
	for _, u := range []string{"a\x01", "aa", "a\x00\x01", "\x00\x00", "c", "ac"} {
		expectGet(t, m, key(u, iface.MaxVersion), nil, "")
	}
	keys, _ := scan(t, m)
	wantUsers := []string{"", "\x00", "a", "a\x00", "a\x00\x00", "ab", "a\xff", "b"}
	var want []string
	for _, u := range wantUsers {
		want = append(want, string(key(u, 5)), string(key(u, 3)))
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("scan order:\n got %q\nwant %q", keys, want)
	}
	it := m.NewIterator()
	defer it.Close()
	if !it.SeekGE(key("a", 0)) || !bytes.Equal(it.Key(), key("a\x00", 5)) {
		t.Errorf("SeekGE(a@0) = %s, want a\\x00@5", fmtKey(it.Key()))
	}
	if !it.SeekLT(key("a\x00", iface.MaxVersion)) || !bytes.Equal(it.Key(), key("a", 3)) {
		t.Errorf("SeekLT(a\\x00@max) = %s, want a@3", fmtKey(it.Key()))
	}
}

func testOwnership(t *testing.T, m iface.Memtable) {
	k, v := key("own", 1), []byte("value-1")
	mustAdd(t, m, k, v)
	copy(k, "xxx") // the memtable must have copied both
	copy(v, "XXXXX")
	gk, gv, ok := m.Get(key("own", 1))
	if !ok || !bytes.Equal(gk, key("own", 1)) || string(gv) != "value-1" {
		t.Fatalf("after mutating the inputs, Get = %s %q %v", fmtKey(gk), gv, ok)
	}
	// A replacement must not disturb slices handed out before it.
	mustAdd(t, m, key("own", 1), []byte("value-2"))
	for i := range 100 {
		mustAdd(t, m, key(fmt.Sprint("filler", i), 1), bytes.Repeat([]byte{'f'}, 32))
	}
	if !bytes.Equal(gk, key("own", 1)) || string(gv) != "value-1" {
		t.Errorf("slices returned by Get changed after later Adds: %s %q", fmtKey(gk), gv)
	}
	expectGet(t, m, key("own", 1), key("own", 1), "value-2")
}

func testSizeGrows(t *testing.T, m iface.Memtable) {
	prev := m.ApproximateSize()
	var payload int64
	for i := range 200 {
		k, v := key(fmt.Sprintf("size%04d", i), 1), bytes.Repeat([]byte{'v'}, i%50)
		mustAdd(t, m, k, v)
		payload += int64(len(k) + len(v))
		if n := m.Len(); n != i+1 {
			t.Fatalf("Len = %d after %d distinct adds", n, i+1)
		}
		s := m.ApproximateSize()
		if s <= prev {
			t.Fatalf("ApproximateSize went from %d to %d on add %d", prev, s, i)
		}
		prev = s
	}
	if prev < payload {
		t.Errorf("ApproximateSize = %d, less than the %d key and value bytes added", prev, payload)
	}
}

// testIteratorRandom fills the memtable and the model with the same random
// data, then takes random walks (seeks, then Next and Prev in any mix) and
// requires the iterator to agree with the model at every step.
func testIteratorRandom(t *testing.T, m iface.Memtable) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := keyGen{rng: rng, maxLen: 5}
	ref := newModel()
	for range 3000 {
		k, v := iface.MakeKey(nil, g.userKey(), g.version(20)), g.value()
		mustAdd(t, m, k, v)
		ref.add(k, v)
	}
	if n := m.Len(); n != len(ref.vals) && (!inexactLen(m) || n < len(ref.vals)) {
		t.Fatalf("Len = %d, want %d distinct keys", n, len(ref.vals))
	}
	ks := ref.keys()
	it := m.NewIterator()
	defer it.Close()
	pos := -1 // the model's position; -1 or len(ks) when invalid
	check := func(op string, got bool) {
		t.Helper()
		want := pos >= 0 && pos < len(ks)
		if got != want || it.Valid() != want {
			t.Fatalf("%s: valid = %v (Valid() %v), want %v", op, got, it.Valid(), want)
		}
		if want && (string(it.Key()) != ks[pos] || string(it.Value()) != ref.vals[ks[pos]]) {
			t.Fatalf("%s: at %s %q, want %s %q", op, fmtKey(it.Key()), it.Value(),
				fmtKey([]byte(ks[pos])), ref.vals[ks[pos]])
		}
	}
	for range 4000 {
		valid := pos >= 0 && pos < len(ks)
		switch r := rng.IntN(20); {
		case r == 0:
			pos = 0
			check("First", it.First())
		case r == 1:
			pos = len(ks) - 1
			check("Last", it.Last())
		case r < 4:
			k := iface.MakeKey(nil, g.userKey(), g.lookupVersion(20))
			pos = ref.seekGE(k)
			check("SeekGE("+fmtKey(k)+")", it.SeekGE(k))
		case r < 6:
			k := iface.MakeKey(nil, g.userKey(), g.lookupVersion(20))
			pos = ref.seekLT(k)
			check("SeekLT("+fmtKey(k)+")", it.SeekLT(k))
		case !valid:
			// Stepping an unpositioned iterator is not part of the contract.
		case r < 13:
			pos++
			check("Next", it.Next())
		default:
			pos--
			check("Prev", it.Prev())
		}
	}
	// Full walks both ways.
	if keys, _ := scan(t, m); fmt.Sprint(keys) != fmt.Sprint(ks) {
		t.Fatalf("full scan differs from the model")
	}
	for i := range 200 {
		lk := iface.MakeKey(nil, g.userKey(), g.lookupVersion(20))
		wk, wv, wok := ref.get(lk)
		if !wok {
			expectGet(t, m, lk, nil, "")
		} else {
			expectGet(t, m, lk, []byte(wk), wv)
		}
		if t.Failed() {
			t.Fatalf("Get mismatch at lookup %d", i)
		}
	}
}

// testIterateDuringAdds scans, both ways, while writers add new keys: every
// scan must be in strict order and include every entry present before the
// iterator was made, with its value.
func testIterateDuringAdds(t *testing.T, m iface.Memtable) {
	const pre, writers, perWriter = 1000, 2, 2000
	for i := range pre {
		mustAdd(t, m, key(fmt.Sprintf("k%05d", i*10), 1), []byte(fmt.Sprint("pre", i)))
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range perWriter {
				// New user keys between and around the preloaded ones, and new
				// versions of preloaded user keys.
				u := fmt.Sprintf("k%05d", rng.IntN(pre*10+10))
				if err := m.Add(key(u, uint64(2+w*perWriter+i)), []byte("new")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	verify := func(keys []string, vals []string, dir string) {
		seen := 0
		for i, k := range keys {
			if i > 0 && iface.Compare([]byte(keys[i-1]), []byte(k)) >= 0 {
				t.Fatalf("%s scan out of order: %s then %s", dir, fmtKey([]byte(keys[i-1])), fmtKey([]byte(k)))
			}
			if iface.Version([]byte(k)) == 1 {
				var n int
				fmt.Sscanf(string(iface.UserKey([]byte(k))), "k%05d", &n)
				want := fmt.Sprint("pre", n/10)
				if vals[i] != want {
					t.Fatalf("%s scan: %s = %q, want %q", dir, fmtKey([]byte(k)), vals[i], want)
				}
				seen++
			}
		}
		if seen != pre {
			t.Fatalf("%s scan saw %d of the %d preloaded entries", dir, seen, pre)
		}
	}
	for scans := 0; ; scans++ {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		it := m.NewIterator()
		var keys, vals []string
		for ok := it.First(); ok; ok = it.Next() {
			keys = append(keys, string(it.Key()))
			vals = append(vals, string(it.Value()))
		}
		verify(keys, vals, "forward")
		keys, vals = keys[:0], vals[:0]
		for ok := it.Last(); ok; ok = it.Prev() {
			keys = append(keys, string(it.Key()))
			vals = append(vals, string(it.Value()))
		}
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
			vals[i], vals[j] = vals[j], vals[i]
		}
		verify(keys, vals, "reverse")
		it.Close()
		if finished && scans >= 2 {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Add: %v", err)
	}
	if want := pre + writers*perWriter; m.Len() != want {
		t.Errorf("Len = %d, want %d", m.Len(), want)
	}
}

// testConcurrentAdds has 8 goroutines add overlapping keys (pairs of them race
// to add the same internal keys) while readers call Get, then checks that
// every key reads back and the table is consistent.
func testConcurrentAdds(t *testing.T, m iface.Memtable) {
	const goroutines, keysPer = 8, 1000
	const versions = goroutines / 2
	value := func(i, g int) []byte { return []byte(fmt.Sprintf("v%d-g%d", i, g)) }
	user := func(i int) string { return fmt.Sprintf("user%05d", i*7919%keysPer) }
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range keysPer {
				if err := m.Add(key(user(i), uint64(g%versions+1)), value(i, g)); err != nil {
					errs <- err
					return
				}
				if i%16 == 0 {
					m.Get(key(user(i/2), iface.MaxVersion))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Add: %v", err)
	}
	if want, n := keysPer*versions, m.Len(); n != want && (!inexactLen(m) || n < want) {
		t.Fatalf("Len = %d, want %d", n, want)
	}
	for i := range keysPer {
		for v := 1; v <= versions; v++ {
			k := key(user(i), uint64(v))
			gk, gv, ok := m.Get(k)
			g := v - 1 // goroutines g and g+versions wrote version v
			if !ok || !bytes.Equal(gk, k) ||
				(string(gv) != string(value(i, g)) && string(gv) != string(value(i, g+versions))) {
				t.Fatalf("Get(%s) = %s %q %v", fmtKey(k), fmtKey(gk), gv, ok)
			}
		}
	}
	keys, _ := scan(t, m)
	if len(keys) != keysPer*versions {
		t.Fatalf("scan saw %d entries, want %d", len(keys), keysPer*versions)
	}
	for i := 1; i < len(keys); i++ {
		if iface.Compare([]byte(keys[i-1]), []byte(keys[i])) >= 0 {
			t.Fatalf("scan out of order at %d", i)
		}
	}
}
