package manifest

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
)

func mustApply(t *testing.T, s *State, e *Edit) {
	t.Helper()
	if err := s.Apply(e); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func ids(tables []iface.TableMeta) []uint64 {
	var out []uint64
	for _, t := range tables {
		out = append(out, t.ID)
	}
	return out
}

func TestStateApplyOrdersLevels(t *testing.T) {
	s := &State{}
	mustApply(t, s, &Edit{AddTables: []TableEntry{
		{Level: 0, Meta: meta(3, "a", "z")}, {Level: 0, Meta: meta(7, "a", "z")}, {Level: 0, Meta: meta(5, "a", "z")},
		{Level: 2, Meta: meta(10, "m", "n")}, {Level: 2, Meta: meta(11, "a", "b")}, {Level: 2, Meta: meta(12, "x", "y")},
	}})
	if got := ids(s.Levels[0]); !reflect.DeepEqual(got, []uint64{7, 5, 3}) {
		t.Fatalf("L0 = %v, want newest first", got)
	}
	if s.Levels[1] != nil {
		t.Fatalf("L1 = %v, want nil", s.Levels[1])
	}
	if got := ids(s.Levels[2]); !reflect.DeepEqual(got, []uint64{11, 10, 12}) {
		t.Fatalf("L2 = %v, want sorted by smallest key", got)
	}
	// A user key that is a prefix of another sorts first (iface.Compare, not bytes.Compare).
	mustApply(t, s, &Edit{AddTables: []TableEntry{{Level: 3, Meta: meta(20, "ab", "ab")}, {Level: 3, Meta: meta(21, "a", "a")}}})
	if got := ids(s.Levels[3]); !reflect.DeepEqual(got, []uint64{21, 20}) {
		t.Fatalf("L3 = %v", got)
	}
	// Move a table down (delete + add in one edit) and drop the last level.
	mustApply(t, s, &Edit{
		DeleteTables: []TableRef{{3, 20}, {3, 21}, {0, 3}},
		AddTables:    []TableEntry{{Level: 1, Meta: meta(3, "a", "z")}},
	})
	if len(s.Levels) != 3 || !reflect.DeepEqual(ids(s.Levels[1]), []uint64{3}) {
		t.Fatalf("levels after move = %v", s.Levels)
	}
}

func TestStateApplyScalars(t *testing.T) {
	s := &State{}
	mustApply(t, s, &Edit{NextFileNum: 10, LastVersion: 100, Components: map[string]string{"table": "sstable/v1"},
		LogCheckpoint: &iface.LogPosition{Segment: 2, Offset: 50}})
	mustApply(t, s, &Edit{NextFileNum: 5, LastVersion: 50, Components: map[string]string{"valuestore": "inline"}})
	want := &State{NextFileNum: 10, LastVersion: 100, LogCheckpoint: iface.LogPosition{Segment: 2, Offset: 50},
		Components: map[string]string{"table": "sstable/v1", "valuestore": "inline"}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("state = %+v, want %+v", s, want)
	}
}

func TestStateApplyValidation(t *testing.T) {
	base := func() *State {
		s := &State{LogCheckpoint: iface.LogPosition{Segment: 5, Offset: 10}}
		mustApply(t, s, &Edit{AddTables: []TableEntry{{Level: 0, Meta: meta(1, "a", "c")}, {Level: 2, Meta: meta(2, "d", "f")}}})
		return s
	}
	bad := meta(9, "z", "a")
	cases := map[string]struct {
		e    *Edit
		want string
	}{
		"add existing id":        {&Edit{AddTables: []TableEntry{{Level: 1, Meta: meta(2, "x", "y")}}}, "already in L2"},
		"add twice":              {&Edit{AddTables: []TableEntry{{Level: 1, Meta: meta(9, "x", "y")}, {Level: 3, Meta: meta(9, "x", "y")}}}, "twice"},
		"delete missing":         {&Edit{DeleteTables: []TableRef{{1, 77}}}, "no such table"},
		"delete wrong level":     {&Edit{DeleteTables: []TableRef{{1, 2}}}, "it is in L2"},
		"delete twice":           {&Edit{DeleteTables: []TableRef{{2, 2}, {2, 2}}}, "twice"},
		"add level too deep":     {&Edit{AddTables: []TableEntry{{Level: MaxLevels, Meta: meta(9, "x", "y")}}}, "out of range"},
		"add negative level":     {&Edit{AddTables: []TableEntry{{Level: -1, Meta: meta(9, "x", "y")}}}, "out of range"},
		"delete level too deep":  {&Edit{DeleteTables: []TableRef{{99, 1}}}, "out of range"},
		"keys out of order":      {&Edit{AddTables: []TableEntry{{Level: 1, Meta: bad}}}, "sorts after"},
		"negative size":          {&Edit{AddTables: []TableEntry{{Level: 1, Meta: iface.TableMeta{ID: 9, Size: -1}}}}, "negative size"},
		"versions out of order":  {&Edit{AddTables: []TableEntry{{Level: 1, Meta: iface.TableMeta{ID: 9, MinVersion: 2, MaxVersion: 1}}}}, "min version"},
		"checkpoint backwards":   {&Edit{LogCheckpoint: &iface.LogPosition{Segment: 5, Offset: 9}}, "before the current"},
		"checkpoint negative":    {&Edit{LogCheckpoint: &iface.LogPosition{Segment: 6, Offset: -1}}, "negative"},
		"empty component name":   {&Edit{Components: map[string]string{"": "x"}}, "empty name"},
		"valid part then broken": {&Edit{NextFileNum: 99, AddTables: []TableEntry{{Level: 1, Meta: meta(50, "x", "y")}}, DeleteTables: []TableRef{{0, 50}}}, "no such table"},
	}
	for name, tc := range cases {
		s := base()
		before := s.Clone()
		err := s.Apply(tc.e)
		if !errors.Is(err, iface.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrInvalidArgument mentioning %q", name, err, tc.want)
		}
		if !reflect.DeepEqual(s, before) {
			t.Errorf("%s: a refused edit changed the state", name)
		}
	}
	// Deleting and re-adding an ID in one edit is a move, and is allowed.
	s := base()
	mustApply(t, s, &Edit{DeleteTables: []TableRef{{2, 2}}, AddTables: []TableEntry{{Level: 3, Meta: meta(2, "d", "f")}}})
}

func TestStateCloneIsIndependent(t *testing.T) {
	s := &State{Components: map[string]string{"a": "b"}}
	mustApply(t, s, &Edit{AddTables: []TableEntry{{Level: 1, Meta: meta(1, "a", "b")}, {Level: 1, Meta: meta(2, "c", "d")}}})
	c := s.Clone()
	copyOfS := s.Clone()
	mustApply(t, c, &Edit{DeleteTables: []TableRef{{1, 1}}, AddTables: []TableEntry{{Level: 1, Meta: meta(3, "e", "f")}},
		Components: map[string]string{"a": "changed"}})
	if !reflect.DeepEqual(s, copyOfS) {
		t.Fatalf("applying to a clone changed the original")
	}
	// A plain struct copy shares the level arrays; Apply copies on write.
	shallow := *s
	mustApply(t, &shallow, &Edit{DeleteTables: []TableRef{{1, 2}}})
	if !reflect.DeepEqual(ids(s.Levels[1]), []uint64{1, 2}) {
		t.Fatalf("applying to a struct copy changed the original's level: %v", ids(s.Levels[1]))
	}
}

// randomState applies n random valid edits.
func randomState(t *testing.T, rng *rand.Rand, n int) *State {
	s := &State{}
	next := uint64(1)
	for range n {
		e := &Edit{NextFileNum: next + 1, LastVersion: uint64(rng.IntN(1000))}
		if s.NumTables() > 0 && rng.IntN(2) == 0 {
			lvl := rng.IntN(len(s.Levels))
			if len(s.Levels[lvl]) > 0 {
				e.DeleteTables = []TableRef{{lvl, s.Levels[lvl][rng.IntN(len(s.Levels[lvl]))].ID}}
			}
		}
		lo := string(rune('a' + rng.IntN(26)))
		e.AddTables = []TableEntry{{Level: rng.IntN(7), Meta: meta(next, lo, lo+"z")}}
		next++
		if rng.IntN(3) == 0 {
			e.LogCheckpoint = &iface.LogPosition{Segment: next, Offset: int64(rng.IntN(100))}
		}
		if rng.IntN(4) == 0 {
			e.Components = map[string]string{"table": "sstable/v1"}
		}
		mustApply(t, s, e)
	}
	return s
}

func TestStateSnapshotRecreates(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 50 {
		s := randomState(t, rng, i)
		r := &State{}
		snap, err := DecodeEdit(s.Snapshot().Encode(nil))
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, r, snap)
		if !reflect.DeepEqual(r, s) {
			t.Fatalf("snapshot of %+v recreates %+v", s, r)
		}
	}
}
