package leveled

import (
	"testing"

	"github.com/nokv/nokv/iface"
)

func table(id uint64, lo, hi string, size int64) iface.TableMeta {
	return iface.TableMeta{ID: id, Size: size, Smallest: iface.MakeKey(nil, []byte(lo), 9), Largest: iface.MakeKey(nil, []byte(hi), 1)}
}

func TestPickL0TakesAllL0AndOverlap(t *testing.T) {
	p := New(Options{L0Trigger: 2, BaseLevelSize: 1 << 20})
	s := &iface.LevelsSnapshot{Levels: [][]iface.TableMeta{
		{table(5, "c", "f", 100), table(4, "a", "d", 100)},
		{table(1, "a", "b", 100), table(2, "e", "g", 100), table(3, "h", "k", 100)},
	}}
	plan := p.Pick(s)
	if plan == nil || plan.OutputLevel != 1 {
		t.Fatalf("plan %+v", plan)
	}
	if got := plan.Inputs[0].Tables; len(got) != 2 {
		t.Fatalf("L0 inputs %v", got)
	}
	if got := plan.Inputs[1].Tables; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("L1 inputs %v, want [1 2] (h..k does not overlap a..f)", got)
	}
	s.Busy = map[uint64]bool{2: true}
	if plan := p.Pick(s); plan != nil {
		t.Fatalf("planned over a busy table: %+v", plan)
	}
}

func TestPickDeeperLevelByMinOverlap(t *testing.T) {
	p := New(Options{L0Trigger: 4, BaseLevelSize: 150})
	s := &iface.LevelsSnapshot{Levels: [][]iface.TableMeta{
		nil,
		{table(1, "a", "c", 100), table(2, "m", "p", 100)},
		{table(3, "a", "b", 500), table(4, "n", "o", 50)},
	}}
	plan := p.Pick(s)
	if plan == nil || plan.OutputLevel != 2 || plan.Inputs[0].Tables[0] != 2 {
		t.Fatalf("plan %+v, want table 2 (least overlap) into L2", plan)
	}
	if p.Pick(&iface.LevelsSnapshot{Levels: [][]iface.TableMeta{{table(1, "a", "b", 1)}}}) != nil {
		t.Fatal("planned a compaction for a tree within bounds")
	}
}
