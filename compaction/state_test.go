package compaction

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
)

func tm(id uint64, lo, hi string) iface.TableMeta {
	return iface.TableMeta{ID: id, Smallest: iface.MakeKey(nil, []byte(lo), 9), Largest: iface.MakeKey(nil, []byte(hi), 1)}
}

func TestStateRefusesBusyTablesAndOverlappingOutputs(t *testing.T) {
	s := NewState()
	l4 := Output{Level: 4}
	a, err := s.Start([]iface.TableMeta{tm(1, "a", "c"), tm(2, "e", "f")}, l4)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		inputs []iface.TableMeta
		out    Output
		ok     bool
	}{
		{"busy table", []iface.TableMeta{tm(1, "x", "y")}, Output{Level: 6}, false},
		{"range meets the running output (gap included)", []iface.TableMeta{tm(3, "d", "d")}, l4, false},
		{"touching at a bound", []iface.TableMeta{tm(3, "f", "g")}, l4, false},
		{"disjoint range, same level", []iface.TableMeta{tm(3, "g", "h")}, l4, true},
		{"same range, another level", []iface.TableMeta{tm(4, "a", "z")}, Output{Level: 5}, true},
		{"same range, the level's buffer", []iface.TableMeta{tm(5, "a", "z")}, Output{Level: 4, Ingest: true}, true},
		{"same range, the buffer's shard again (ordered by Seq)", []iface.TableMeta{tm(6, "b", "b")}, Output{Level: 4, Ingest: true}, true},
		{"same range, another shard", []iface.TableMeta{tm(8, "b", "b")}, Output{Level: 4, Ingest: true, Shard: 1}, true},
		{"no inputs", nil, Output{Level: 3}, false},
		{"table twice", []iface.TableMeta{tm(7, "a", "a"), tm(7, "a", "a")}, Output{Level: 3}, false},
	}
	for _, c := range cases {
		_, err := s.Start(c.inputs, c.out)
		if (err == nil) != c.ok {
			t.Fatalf("%s: Start error %v, want ok=%v", c.name, err, c.ok)
		}
	}
	if n := s.Running(); n != 6 {
		t.Fatalf("Running() = %d, want 6", n)
	}
	if b := s.Busy(); !b[1] || !b[2] || !b[3] || b[7] {
		t.Fatalf("Busy() = %v", b)
	}
	s.Finish(a)
	if s.IsBusy(1) {
		t.Fatal("table 1 busy after Finish")
	}
	if _, err := s.Start([]iface.TableMeta{tm(1, "d", "d")}, l4); err != nil {
		t.Fatalf("range freed by Finish still refused: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("second Finish did not panic")
		}
	}()
	s.Finish(a)
}

// TestStateConcurrent starts and finishes random compactions from several
// goroutines and checks that no two running ones ever share a table or meet
// at one output.
func TestStateConcurrent(t *testing.T) {
	s := NewState()
	var mu sync.Mutex
	held := map[uint64]bool{}
	type span struct {
		out    Output
		lo, hi int
	}
	spans := map[*InFlight]span{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 2000 {
				lo := rng.IntN(50)
				hi := lo + rng.IntN(5)
				out := Output{Level: 1 + rng.IntN(2)}
				id := uint64(rng.IntN(20))
				f, err := s.Start([]iface.TableMeta{tm(id, fmt.Sprintf("k%02d", lo), fmt.Sprintf("k%02d", hi))}, out)
				if err != nil {
					continue
				}
				mu.Lock()
				if held[id] {
					t.Errorf("table %d started twice", id)
				}
				for _, sp := range spans {
					if sp.out == out && sp.lo <= hi && lo <= sp.hi {
						t.Errorf("overlapping outputs at %s: [%d,%d] and [%d,%d]", out, lo, hi, sp.lo, sp.hi)
					}
				}
				held[id] = true
				spans[f] = span{out, lo, hi}
				mu.Unlock()
				mu.Lock()
				delete(held, id)
				delete(spans, f)
				mu.Unlock()
				s.Finish(f)
			}
		}()
	}
	wg.Wait()
	if s.Running() != 0 || len(s.Busy()) != 0 {
		t.Fatalf("state not empty at the end: %d running, busy %v", s.Running(), s.Busy())
	}
}
