package mvcc_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/mvcc"
)

// The model: the committed states in order, the keys each commit wrote, and
// for each open transaction the state it began on plus what it read and
// wrote. Conflict detection is modelled exactly as specified: an update
// transaction fails when a commit after its start wrote a key it read or a
// key inside a range it iterated.
type model struct {
	states  []map[string]string
	writers []map[string]bool
}

type modelTxn struct {
	real   *mvcc.Txn
	update bool
	base   int
	writes map[string]*string // nil value: delete
	reads  map[string]bool
	ranges [][2]*string // [lower, upper); nil upper = unbounded
}

func (m *model) view(tx *modelTxn) map[string]string {
	v := maps.Clone(m.states[tx.base])
	for k, w := range tx.writes {
		if w == nil {
			delete(v, k)
		} else {
			v[k] = *w
		}
	}
	return v
}

func (m *model) conflicts(tx *modelTxn) bool {
	for _, w := range m.writers[tx.base+1:] {
		for k := range w {
			if tx.reads[k] {
				return true
			}
			for _, r := range tx.ranges {
				if k >= *r[0] && (r[1] == nil || k < *r[1]) {
					return true
				}
			}
		}
	}
	return false
}

var modelKeys = []string{"a", "b", "c", "p/a", "p/b", "p/c", "q", "q\x00"}

// TestModel drives random transactions (begin, get, set, delete, scans in
// both directions with prefixes and bounds, commit, discard) interleaved
// with flushes and compactions, and compares every read, every scan and
// every commit outcome with the model. Longer runs:
// go test ./mvcc -run TestModel -rapid.checks=2000 -rapid.steps=300
func TestModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		store, closeStore := newStore(t)
		defer closeStore()
		detect := rapid.Bool().Draw(rt, "detect")
		db := mvcc.New(store, &mvcc.Options{DisableConflictDetection: !detect})
		m := &model{states: []map[string]string{{}}, writers: []map[string]bool{{}}}
		var open []*modelTxn
		defer func() {
			for _, tx := range open {
				tx.real.Discard()
			}
		}()
		key := rapid.SampledFrom(modelKeys)
		pick := func(rt *rapid.T, update bool) *modelTxn {
			var c []*modelTxn
			for _, tx := range open {
				if tx.update || !update {
					c = append(c, tx)
				}
			}
			if len(c) == 0 {
				return nil
			}
			return rapid.SampledFrom(c).Draw(rt, "txn")
		}
		rt.Repeat(map[string]func(*rapid.T){
			"begin": func(rt *rapid.T) {
				if len(open) >= 4 {
					rt.Skip("enough open")
				}
				update := rapid.Bool().Draw(rt, "update")
				open = append(open, &modelTxn{real: db.Begin(update), update: update, base: len(m.states) - 1,
					writes: map[string]*string{}, reads: map[string]bool{}})
			},
			"set": func(rt *rapid.T) {
				tx := pick(rt, true)
				if tx == nil {
					rt.Skip("no update txn")
				}
				k, v := key.Draw(rt, "key"), rapid.StringMatching(`[a-z]{0,3}`).Draw(rt, "value")
				if err := tx.real.Set([]byte(k), []byte(v)); err != nil {
					rt.Fatal(err)
				}
				tx.writes[k] = &v
			},
			"delete": func(rt *rapid.T) {
				tx := pick(rt, true)
				if tx == nil {
					rt.Skip("no update txn")
				}
				k := key.Draw(rt, "key")
				if err := tx.real.Delete([]byte(k)); err != nil {
					rt.Fatal(err)
				}
				tx.writes[k] = nil
			},
			"get": func(rt *rapid.T) {
				tx := pick(rt, false)
				if tx == nil {
					rt.Skip("no txn")
				}
				k := key.Draw(rt, "key")
				want, ok := m.view(tx)[k]
				got, err := tx.real.Get([]byte(k))
				switch {
				case errors.Is(err, iface.ErrNotFound):
					if ok {
						rt.Fatalf("get %q: not found, want %q", k, want)
					}
				case err != nil:
					rt.Fatal(err)
				case !ok || string(got) != want:
					rt.Fatalf("get %q = %q, want %q (present %v)", k, got, want, ok)
				}
				if _, own := tx.writes[k]; tx.update && !own {
					tx.reads[k] = true
				}
			},
			"scan": func(rt *rapid.T) {
				tx := pick(rt, false)
				if tx == nil {
					rt.Skip("no txn")
				}
				var o mvcc.IteratorOptions
				lower, upper := "", (*string)(nil)
				switch rapid.IntRange(0, 2).Draw(rt, "shape") {
				case 1:
					o.Prefix = []byte("p/")
					lower, upper = "p/", ptr("p0")
				case 2:
					lo, hi := key.Draw(rt, "lo"), key.Draw(rt, "hi")
					if lo > hi {
						lo, hi = hi, lo
					}
					o.LowerBound, o.UpperBound = []byte(lo), []byte(hi)
					lower, upper = lo, &hi
				}
				o.Reverse = rapid.Bool().Draw(rt, "reverse")
				view := m.view(tx)
				var want []string
				for _, k := range slices.Sorted(maps.Keys(view)) {
					if k >= lower && (upper == nil || k < *upper) {
						want = append(want, k+"="+view[k])
					}
				}
				if o.Reverse {
					slices.Reverse(want)
				}
				it, err := tx.real.NewIterator(o)
				if err != nil {
					rt.Fatal(err)
				}
				var got []string
				for it.Rewind(); it.Valid(); it.Next() {
					v, err := it.Value()
					if err != nil {
						rt.Fatal(err)
					}
					got = append(got, string(it.Key())+"="+string(v))
				}
				if err := it.Close(); err != nil {
					rt.Fatal(err)
				}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					rt.Fatalf("scan %+v:\n got  %v\n want %v", o, got, want)
				}
				if tx.update {
					tx.ranges = append(tx.ranges, [2]*string{ptr(lower), upper})
				}
			},
			"commit": func(rt *rapid.T) {
				tx := pick(rt, false)
				if tx == nil {
					rt.Skip("no txn")
				}
				open = slices.DeleteFunc(open, func(x *modelTxn) bool { return x == tx })
				err := tx.real.Commit()
				wantConflict := detect && len(tx.writes) > 0 && m.conflicts(tx)
				switch {
				case wantConflict && !errors.Is(err, mvcc.ErrConflict):
					rt.Fatalf("commit: %v, want ErrConflict", err)
				case !wantConflict && err != nil:
					rt.Fatalf("commit: %v, want success", err)
				}
				if wantConflict || len(tx.writes) == 0 {
					return
				}
				next := maps.Clone(m.states[len(m.states)-1])
				w := map[string]bool{}
				for k, v := range tx.writes {
					w[k] = true
					if v == nil {
						delete(next, k)
					} else {
						next[k] = *v
					}
				}
				m.states = append(m.states, next)
				m.writers = append(m.writers, w)
			},
			"discard": func(rt *rapid.T) {
				tx := pick(rt, false)
				if tx == nil {
					rt.Skip("no txn")
				}
				open = slices.DeleteFunc(open, func(x *modelTxn) bool { return x == tx })
				tx.real.Discard()
			},
			"flush": func(rt *rapid.T) {
				if err := store.Flush(); err != nil {
					rt.Fatal(err)
				}
				if rapid.Bool().Draw(rt, "compact") {
					if err := store.Compact(); err != nil {
						rt.Fatal(err)
					}
				}
			},
			"": func(rt *rapid.T) {
				// Invariant: a fresh snapshot sees the newest committed state.
				if err := db.View(func(txn *mvcc.Txn) error {
					return checkState(txn, m.states[len(m.states)-1])
				}); err != nil {
					rt.Fatal(err)
				}
			},
		})
	})
}

func ptr(s string) *string { return &s }

func checkState(txn *mvcc.Txn, want map[string]string) error {
	it, err := txn.NewIterator(mvcc.IteratorOptions{})
	if err != nil {
		return err
	}
	defer it.Close()
	got := map[string]string{}
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Value()
		if err != nil {
			return err
		}
		got[string(it.Key())] = string(v)
	}
	if !maps.Equal(got, want) {
		return fmt.Errorf("newest state %v, want %v", got, want)
	}
	return nil
}
