package backend_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/vfs"
)

// smallOptions makes a store that flushes and compacts after a few KiB, so
// tests exercise every layer quickly.
func smallOptions(fs vfs.FS) *backend.Options {
	return &backend.Options{
		FS:               fs,
		MemtableSize:     64 << 10,
		TargetTableSize:  16 << 10,
		LogSegmentSize:   32 << 10,
		BlockCacheSize:   1 << 20,
		ValueThreshold:   64, // so the value log, when chosen, holds most test values
		Logger:           hclog.NewNullLogger(),
		CompactionPolicy: leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4}),
	}
}

// openTest opens a store and registers a consistency check for when the test
// ends: the store is closed and backend.Check must find nothing wrong.
func openTest(t testing.TB, dir string, o *backend.Options) *backend.DB {
	t.Helper()
	db, err := backend.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, iface.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		for _, p := range backend.Check(dir, o) {
			t.Errorf("check: %v", p)
		}
	})
	return db
}

// model is the reference the engine is compared with.
type model map[string]string

func (m model) sortedKeys(lo, hi string) []string {
	var ks []string
	for k := range m {
		if (lo == "" || k >= lo) && (hi == "" || k < hi) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func key(i int) []byte { return []byte(fmt.Sprintf("key%06d", i)) }

func TestBasic(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	if _, err := db.Get([]byte("a")); !errors.Is(err, iface.ErrNotFound) {
		t.Fatalf("get on empty store: %v", err)
	}
	must(t, db.Set([]byte("a"), []byte("1"), nil))
	must(t, db.Set([]byte("b"), []byte("2"), &backend.WriteOptions{Sync: true}))
	must(t, db.Delete([]byte("a"), nil))
	if _, err := db.Get([]byte("a")); !errors.Is(err, iface.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	expectGet(t, db, "b", "2")
	if err := db.Set(nil, []byte("x"), nil); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestPrefixKeysOrdering(t *testing.T) {
	db := openTest(t, t.TempDir(), smallOptions(nil))
	keys := []string{"a", "a\x00", "ab", "a\xff", "b", "aa"}
	for i, k := range keys {
		must(t, db.Set([]byte(k), []byte(fmt.Sprint(i)), nil))
	}
	must(t, db.Flush())
	must(t, db.Set([]byte("a"), []byte("new"), nil))
	got := scan(t, db, nil, false)
	want := []string{"a=new", "a\x00=1", "aa=5", "ab=2", "a\xff=3", "b=4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan\n got %q\nwant %q", got, want)
	}
}

func TestRandomAgainstModel(t *testing.T) {
	for _, c := range registry.Builtin().Combinations() {
		t.Run(c.String(), func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				runRandom(t, c, seed, 4000)
			}
		})
	}
}

func runRandom(t *testing.T, c registry.Config, seed uint64, ops int) {
	dir := t.TempDir()
	o := smallOptions(nil)
	if _, err := registry.Builtin().Resolve(c, o); err != nil {
		t.Fatal(err)
	}
	if c.Compaction == "leveled" { // the default level sizes are far above test data
		o.CompactionPolicy = smallOptions(nil).CompactionPolicy
	}
	db := openTest(t, dir, o)
	rng := rand.New(rand.NewPCG(seed, 7))
	m := model{}
	type snap struct {
		s *backend.Snapshot
		m model
	}
	var snaps []snap
	val := func() string { return fmt.Sprintf("v%d-%s", rng.IntN(1000), bytes.Repeat([]byte("x"), rng.IntN(200))) }
	for i := 0; i < ops; i++ {
		switch r := rng.IntN(100); {
		case r < 50:
			k := string(key(rng.IntN(500)))
			v := val()
			must(t, db.Set([]byte(k), []byte(v), nil))
			m[k] = v
		case r < 60:
			k := string(key(rng.IntN(500)))
			must(t, db.Delete([]byte(k), nil))
			delete(m, k)
		case r < 70:
			b := backend.NewBatch()
			for j := 0; j < 1+rng.IntN(10); j++ {
				k := string(key(rng.IntN(500)))
				if rng.IntN(4) == 0 {
					b.Delete([]byte(k))
					delete(m, k)
				} else {
					v := val()
					b.Set([]byte(k), []byte(v))
					m[k] = v
				}
			}
			must(t, db.Apply(b, nil))
		case r < 85:
			k := string(key(rng.IntN(500)))
			got, err := db.Get([]byte(k))
			want, ok := m[k]
			if ok != (err == nil) || (ok && string(got) != want) {
				t.Fatalf("seed %d op %d: get %q = %q, %v; want %q, %v", seed, i, k, got, err, want, ok)
			}
		case r < 88:
			if len(snaps) < 3 {
				cp := model{}
				for k, v := range m {
					cp[k] = v
				}
				snaps = append(snaps, snap{db.NewSnapshot(), cp})
			}
		case r < 91 && len(snaps) > 0:
			j := rng.IntN(len(snaps))
			checkScan(t, snaps[j].s, snaps[j].m, rng)
			snaps[j].s.Release()
			snaps = append(snaps[:j], snaps[j+1:]...)
		case r < 94:
			checkScan(t, db, m, rng)
		case r < 95:
			must(t, db.Flush())
		case r < 96:
			must(t, db.Compact())
		case r < 97:
			must(t, db.Close())
			db = reopen(t, dir, o)
			for _, s := range snaps {
				s.s.Release()
			}
			snaps = nil
		}
	}
	checkScan(t, db, m, rng)
	for _, s := range snaps {
		checkScan(t, s.s, s.m, rng)
		s.s.Release()
	}
}

func reopen(t *testing.T, dir string, o *backend.Options) *backend.DB {
	t.Helper()
	db, err := backend.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type iterSource interface {
	NewIterator(*backend.IterOptions) (*backend.Iterator, error)
	Get([]byte) ([]byte, error)
}

// checkScan compares forward and reverse scans with random bounds, and point
// reads, against the model.
func checkScan(t *testing.T, src iterSource, m model, rng *rand.Rand) {
	t.Helper()
	var lo, hi string
	if rng.IntN(2) == 0 {
		lo = string(key(rng.IntN(500)))
	}
	if rng.IntN(2) == 0 {
		hi = string(key(rng.IntN(500)))
	}
	want := m.sortedKeys(lo, hi)
	o := &backend.IterOptions{}
	if lo != "" {
		o.LowerBound = []byte(lo)
	}
	if hi != "" {
		o.UpperBound = []byte(hi)
	}
	it, err := src.NewIterator(o)
	must(t, err)
	defer it.Close()
	var got []string
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.Value()
		must(t, err)
		if string(v) != m[string(it.Key())] {
			t.Fatalf("forward: key %q value %q, want %q", it.Key(), v, m[string(it.Key())])
		}
		got = append(got, string(it.Key()))
	}
	must(t, it.Err())
	if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("forward scan [%q,%q): got %d keys, want %d\n got %q\nwant %q", lo, hi, len(got), len(want), got, want)
	}
	got = got[:0]
	for ok := it.Last(); ok; ok = it.Prev() {
		got = append(got, string(it.Key()))
	}
	must(t, it.Err())
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("reverse scan [%q,%q): got %d keys, want %d", lo, hi, len(got), len(want))
	}
	// Direction changes: walk forward a few, back a few, compare positions.
	if len(want) > 4 {
		i := rng.IntN(len(want) - 4)
		if !it.Seek([]byte(want[i])) || string(it.Key()) != want[i] {
			t.Fatalf("seek %q landed on %q", want[i], it.Key())
		}
		it.Next()
		it.Next()
		it.Prev()
		if !it.Valid() || string(it.Key()) != want[i+1] {
			t.Fatalf("next,next,prev from %q: at %q, want %q", want[i], it.Key(), want[i+1])
		}
		it.Prev()
		it.Next()
		if !it.Valid() || string(it.Key()) != want[i+1] {
			t.Fatalf("prev,next: at %q, want %q", it.Key(), want[i+1])
		}
		if !it.SeekLT([]byte(want[i+2])) || string(it.Key()) != want[i+1] {
			t.Fatalf("seekLT %q landed on %q", want[i+2], it.Key())
		}
	}
	for i := 0; i < 20; i++ {
		k := string(key(rng.IntN(500)))
		v, err := src.Get([]byte(k))
		w, ok := m[k]
		if ok != (err == nil) || string(v) != w {
			t.Fatalf("get %q = %q, %v; want %q, %v", k, v, err, w, ok)
		}
	}
}

func scan(t *testing.T, db *backend.DB, o *backend.IterOptions, reverse bool) []string {
	it, err := db.NewIterator(o)
	must(t, err)
	defer it.Close()
	var out []string
	next := it.Next
	ok := it.First()
	if reverse {
		ok, next = it.Last(), it.Prev
	}
	for ; ok; ok = next() {
		v, err := it.Value()
		must(t, err)
		out = append(out, string(it.Key())+"="+string(v))
	}
	must(t, it.Err())
	return out
}

func expectGet(t *testing.T, db *backend.DB, k, want string) {
	t.Helper()
	v, err := db.Get([]byte(k))
	if err != nil || string(v) != want {
		t.Fatalf("get %q = %q, %v; want %q", k, v, err, want)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
