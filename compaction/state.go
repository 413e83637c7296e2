package compaction

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/nokv/nokv/iface"
)

// Output is where a compaction writes: the main run of Level, or shard Shard
// of Level's ingest buffer when Ingest is set.
type Output struct {
	Level  int
	Ingest bool
	Shard  int
}

// OutputOf returns where plan writes.
func OutputOf(plan *iface.CompactionPlan) Output {
	if plan.OutputIngest {
		return Output{Level: plan.OutputLevel, Ingest: true, Shard: plan.OutputShard}
	}
	return Output{Level: plan.OutputLevel}
}

func (o Output) String() string {
	if o.Ingest {
		return fmt.Sprintf("L%d ingest shard %d", o.Level, o.Shard)
	}
	return fmt.Sprintf("L%d", o.Level)
}

// InFlight is a running compaction as State sees it: its input tables, where
// it writes, and the user-key range its outputs may cover (inclusive; the
// union of its inputs' ranges, which no output exceeds).
type InFlight struct {
	Tables   []uint64
	Output   Output
	Smallest []byte // user key
	Largest  []byte // user key
}

// overlaps reports whether f and a compaction writing [smallest, largest]
// into o may not run together: both write into the same main run and their
// ranges meet.
func (f *InFlight) overlaps(o Output, smallest, largest []byte) bool {
	return !o.Ingest && f.Output == o && bytes.Compare(f.Smallest, largest) <= 0 && bytes.Compare(smallest, f.Largest) <= 0
}

// State tracks the compactions running at once so that they never meet: no
// table is the input of two of them, and no two write overlapping user-key
// ranges into the main run of one level. Two outputs that overlap in a main
// run would break its sorted-run invariant, whichever finished first.
// Outputs into an ingest buffer may overlap anything: buffer tables are
// ordered by Seq, so a move into a shard can run beside a merge inside the
// same shard (the moved tables are newer than everything it merges), as
// docs/compaction.md plans. Policies keep concurrent plans legal in every
// other respect ("Several compactions at once" there); State is the
// engine's last check. All methods are safe for concurrent use.
type State struct {
	mu      sync.Mutex
	busy    map[uint64]bool
	running map[*InFlight]struct{}
}

// NewState returns a State with nothing running.
func NewState() *State {
	return &State{busy: map[uint64]bool{}, running: map[*InFlight]struct{}{}}
}

// Busy returns a copy of the set of tables held by running compactions (for
// iface.LevelsSnapshot.Busy).
func (s *State) Busy() map[uint64]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make(map[uint64]bool, len(s.busy))
	for id := range s.busy {
		b[id] = true
	}
	return b
}

// IsBusy reports whether table id is held by a running compaction.
func (s *State) IsBusy(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy[id]
}

// Running returns how many compactions are running.
func (s *State) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

// InFlight returns the running compactions. The slices are shared and must
// not be modified.
func (s *State) InFlight() []InFlight {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]InFlight, 0, len(s.running))
	for f := range s.running {
		out = append(out, *f)
	}
	return out
}

// Start registers a compaction of inputs (the plan's tables, resolved to
// their metadata) writing to out. It refuses, returning nil and the reason,
// when an input is held by a running compaction or when out is a main run
// and the inputs' user-key range meets the range of a running compaction
// writing into the same main run. An
// empty inputs list is refused too. On success the caller must call Finish
// with the result once the compaction's manifest edit is applied (or has
// failed).
func (s *State) Start(inputs []iface.TableMeta, out Output) (*InFlight, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("compaction has no input tables")
	}
	f := &InFlight{Output: out, Tables: make([]uint64, 0, len(inputs))}
	for i := range inputs {
		t := &inputs[i]
		lo, hi := iface.UserKey(t.Smallest), iface.UserKey(t.Largest)
		if i == 0 || bytes.Compare(lo, f.Smallest) < 0 {
			f.Smallest = lo
		}
		if i == 0 || bytes.Compare(hi, f.Largest) > 0 {
			f.Largest = hi
		}
		f.Tables = append(f.Tables, t.ID)
	}
	f.Smallest = bytes.Clone(f.Smallest)
	f.Largest = bytes.Clone(f.Largest)
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[uint64]bool, len(f.Tables))
	for _, id := range f.Tables {
		if s.busy[id] {
			return nil, fmt.Errorf("table %d is in a running compaction", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("table %d named twice", id)
		}
		seen[id] = true
	}
	for r := range s.running {
		if r.overlaps(out, f.Smallest, f.Largest) {
			return nil, fmt.Errorf("output range %q..%q meets a running compaction's output %q..%q at %s",
				f.Smallest, f.Largest, r.Smallest, r.Largest, out)
		}
	}
	for _, id := range f.Tables {
		s.busy[id] = true
	}
	s.running[f] = struct{}{}
	return f, nil
}

// Finish releases the tables and output range of a compaction Start
// registered. Finishing one twice panics: it is a bug in the caller.
func (s *State) Finish(f *InFlight) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.running[f]; !ok {
		panic("compaction: Finish of a compaction that is not running")
	}
	delete(s.running, f)
	for _, id := range f.Tables {
		delete(s.busy, id)
	}
}
