package backend

import (
	"fmt"
	"testing"

	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/compaction/tiered"
	"github.com/nokv/nokv/iface"
)

// A policy's L0 allowance (tiered: MaxRuns) raises the L0 slowdown and stop
// thresholds by the same amount; without one they apply as set.
func TestWriteDebtL0Allowance(t *testing.T) {
	snap := func(l0 int) *iface.LevelsSnapshot {
		s := &iface.LevelsSnapshot{Levels: make([][]iface.TableMeta, 7)}
		for i := range l0 {
			k := []byte(fmt.Sprintf("k%03d", i))
			s.Levels[0] = append(s.Levels[0], iface.TableMeta{ID: uint64(100 - i), Size: 1 << 20,
				Smallest: iface.MakeKey(nil, k, 1), Largest: iface.MakeKey(nil, k, 1)})
		}
		return s
	}
	for _, c := range []struct {
		policy iface.CompactionPolicy
		l0     int
		want   string
	}{
		{leveled.New(leveled.Options{}), 11, WritesNormal},
		{leveled.New(leveled.Options{}), 12, WritesDelayed},
		{leveled.New(leveled.Options{}), 24, WritesStopped},
		{tiered.New(tiered.Options{}), 12, WritesNormal}, // MaxRuns 12: slowdown from 13, stop from 25
		{tiered.New(tiered.Options{}), 13, WritesDelayed},
		{tiered.New(tiered.Options{}), 24, WritesDelayed},
		{tiered.New(tiered.Options{}), 25, WritesStopped},
	} {
		o := Options{CompactionPolicy: c.policy}
		o.EnsureDefaults()
		if got := o.writeDebt(snap(c.l0)).State; got != c.want {
			t.Errorf("%s with %d L0 tables: %v, want %v", c.policy.Name(), c.l0, got, c.want)
		}
	}
}
