package backend_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/nokv/nokv/backend"
)

// TestAllVersions checks the AllVersions iterator against a log of every
// write: forward, backward, with direction changes, at a snapshot, across
// memtables and tables.
func TestAllVersions(t *testing.T) {
	db := openTest(t, t.TempDir(), smallOptions(nil))
	type ver struct {
		key     string
		version uint64
		val     string
		deleted bool
	}
	var log []ver
	rng := rand.New(rand.NewPCG(4, 4))
	var snap *backend.Snapshot
	var atSnap int
	// A snapshot after every write keeps every version from compaction (the
	// iterator shows only versions that are still kept).
	var pins []*backend.Snapshot
	defer func() {
		for _, p := range pins {
			p.Release()
		}
	}()
	for i := 0; i < 3000; i++ {
		k := fmt.Sprintf("k%03d", rng.IntN(200))
		if rng.IntN(5) == 0 {
			must(t, db.Delete([]byte(k), nil))
			log = append(log, ver{k, db.LastVersion(), "", true})
		} else {
			v := fmt.Sprintf("v%d", i)
			must(t, db.Set([]byte(k), []byte(v), nil))
			log = append(log, ver{k, db.LastVersion(), v, false})
		}
		pins = append(pins, db.NewSnapshot())
		if i%700 == 0 {
			must(t, db.Flush())
		}
		if i == 1500 {
			snap, atSnap = db.NewSnapshot(), len(log)
		}
	}
	defer snap.Release()
	// Expected order: key ascending, version descending.
	expect := func(upto int) []string {
		byKey := map[string][]ver{}
		for _, w := range log[:upto] {
			byKey[w.key] = append(byKey[w.key], w)
		}
		var out []string
		for k := 0; k < 200; k++ {
			vs := byKey[fmt.Sprintf("k%03d", k)]
			for j := len(vs) - 1; j >= 0; j-- {
				out = append(out, fmt.Sprintf("%s@%d=%s/%v", vs[j].key, vs[j].version, vs[j].val, vs[j].deleted))
			}
		}
		return out
	}
	render := func(it *backend.Iterator) string {
		v, err := it.Value()
		must(t, err)
		if it.IsDeleted() {
			v = nil
		}
		return fmt.Sprintf("%s@%d=%s/%v", it.Key(), it.Version(), v, it.IsDeleted())
	}
	for _, c := range []struct {
		name string
		src  iterSource
		n    int
	}{{"latest", db, len(log)}, {"snapshot", snap, atSnap}} {
		want := expect(c.n)
		it, err := c.src.NewIterator(&backend.IterOptions{AllVersions: true})
		must(t, err)
		var got []string
		for ok := it.First(); ok; ok = it.Next() {
			got = append(got, render(it))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s forward: %d entries, want %d", c.name, len(got), len(want))
		}
		got = got[:0]
		for ok := it.Last(); ok; ok = it.Prev() {
			got = append([]string{render(it)}, got...)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s reverse: %d entries, want %d", c.name, len(got), len(want))
		}
		// Zig-zag: every step forward then back must return to the same entry.
		i := 0
		for ok := it.First(); ok && i < 300; ok = it.Next() {
			here := render(it)
			if it.Next() {
				it.Prev()
				if render(it) != here {
					t.Fatalf("%s: next,prev from %s landed on %s", c.name, here, render(it))
				}
			} else {
				break
			}
			i++
		}
		must(t, it.Close())
	}
}

// TestScanManyVersions scans keys with dozens of versions (kept by
// snapshots), including deletions, at several read versions in both
// directions: the iterator's seek shortcuts over long version runs must
// return exactly what a step-by-step walk would.
func TestScanManyVersions(t *testing.T) {
	db := openTest(t, t.TempDir(), smallOptions(nil))
	type state map[string]string
	cur := state{}
	var snaps []*backend.Snapshot
	var states []state
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 1500; i++ {
		k := fmt.Sprintf("k%02d", rng.IntN(12))
		if rng.IntN(7) == 0 {
			must(t, db.Delete([]byte(k), nil))
			delete(cur, k)
		} else {
			v := fmt.Sprintf("v%d", i)
			must(t, db.Set([]byte(k), []byte(v), nil))
			cur[k] = v
		}
		if i%50 == 0 {
			cp := state{}
			for k, v := range cur {
				cp[k] = v
			}
			snaps = append(snaps, db.NewSnapshot())
			states = append(states, cp)
		}
		if i%400 == 0 {
			must(t, db.Flush())
		}
	}
	defer func() {
		for _, s := range snaps {
			s.Release()
		}
	}()
	check := func(name string, src iterSource, want state) {
		var keys []string
		for k := range want {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		it, err := src.NewIterator(nil)
		must(t, err)
		defer it.Close()
		var got []string
		for ok := it.First(); ok; ok = it.Next() {
			v, _ := it.Value()
			got = append(got, string(it.Key())+"="+string(v))
		}
		var exp []string
		for _, k := range keys {
			exp = append(exp, k+"="+want[k])
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Fatalf("%s forward:\n got %v\nwant %v", name, got, exp)
		}
		got = got[:0]
		for ok := it.Last(); ok; ok = it.Prev() {
			v, _ := it.Value()
			got = append([]string{string(it.Key()) + "=" + string(v)}, got...)
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Fatalf("%s reverse:\n got %v\nwant %v", name, got, exp)
		}
	}
	check("latest", db, cur)
	for i, s := range snaps {
		check(fmt.Sprintf("snapshot %d", i), s, states[i])
	}
}
