package manifest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/nokv/nokv/iface"
)

// MaxLevels is the number of LSM levels a state can hold (levels 0 to 15).
const MaxLevels = 16

// State is the store's metadata at one point: the result of applying every
// edit of the manifest in order. The zero State is an empty store.
//
// The key slices (Smallest, Largest) of the tables are shared between a
// state, its clones and its snapshots; they are never modified and must not
// be modified by callers. Apply never writes into slices or maps it did not
// allocate itself, so a plain struct copy of a State may also be applied to
// without disturbing the original. A State is not safe for concurrent
// mutation.
type State struct {
	// Levels holds the tables of each level. Levels[0] is ordered newest
	// first (by ID, descending); deeper levels are ordered by Smallest
	// (iface.Compare), ties by ID. Trailing empty levels are trimmed, and an
	// empty level is nil.
	Levels [][]iface.TableMeta
	// LogCheckpoint is where write-ahead-log replay starts: every record
	// before it is in tables.
	LogCheckpoint iface.LogPosition
	// NextFileNum is the next unused file number.
	NextFileNum uint64
	// LastVersion is the largest version known to be committed.
	LastVersion uint64
	// ValueLogHead is the value-log position every table's pointers are
	// below (see Edit.ValueLogHead); zero if none was recorded.
	ValueLogHead iface.ValuePtr
	// Components maps component kinds to the names of the on-disk formats
	// the store was written with. Nil when none is recorded.
	Components map[string]string
}

// Apply checks e against s and applies it. If e is invalid (a level out of
// range, a table added twice or under an ID that exists, a table deleted that
// is not in the named level, a checkpoint that moves backwards, a table whose
// keys or versions are out of order), Apply returns an error matching
// iface.ErrInvalidArgument and s is unchanged. Apply copies what it keeps
// from e.
func (s *State) Apply(e *Edit) error {
	if err := s.check(e); err != nil {
		return err
	}
	// Copy on write: the outer slice, the touched levels and the components
	// map may be shared with a plain copy of s.
	s.Levels = slices.Clone(s.Levels)
	touched := make(map[int]bool)
	for _, d := range e.DeleteTables {
		if !touched[d.Level] {
			s.Levels[d.Level] = slices.Clone(s.Levels[d.Level])
			touched[d.Level] = true
		}
		lvl := s.Levels[d.Level]
		i := slices.IndexFunc(lvl, func(t iface.TableMeta) bool { return t.ID == d.ID })
		s.Levels[d.Level] = slices.Delete(lvl, i, i+1)
	}
	for _, a := range e.AddTables {
		for len(s.Levels) <= a.Level {
			s.Levels = append(s.Levels, nil)
		}
		m := a.Meta
		m.Smallest = cloneBytes(m.Smallest)
		m.Largest = cloneBytes(m.Largest)
		if !touched[a.Level] {
			s.Levels[a.Level] = slices.Clone(s.Levels[a.Level])
			touched[a.Level] = true
		}
		s.Levels[a.Level] = append(s.Levels[a.Level], m)
	}
	for level := range touched {
		sortLevel(level, s.Levels[level])
	}
	s.trimLevels()
	if len(e.Components) > 0 {
		c := make(map[string]string, len(s.Components)+len(e.Components))
		maps.Copy(c, s.Components)
		maps.Copy(c, e.Components)
		s.Components = c
	}
	if e.LogCheckpoint != nil {
		s.LogCheckpoint = *e.LogCheckpoint
	}
	s.NextFileNum = max(s.NextFileNum, e.NextFileNum)
	s.LastVersion = max(s.LastVersion, e.LastVersion)
	if h := e.ValueLogHead; h != nil && headLess(s.ValueLogHead, *h) {
		s.ValueLogHead = iface.ValuePtr{Segment: h.Segment, Offset: h.Offset}
	}
	return nil
}

// check validates e against s without changing anything.
func (s *State) check(e *Edit) error {
	for name := range e.Components {
		if name == "" {
			return invalid("component with an empty name")
		}
	}
	if cp := e.LogCheckpoint; cp != nil {
		if cp.Offset < 0 {
			return invalid("log checkpoint offset %d is negative", cp.Offset)
		}
		if cp.Less(s.LogCheckpoint) {
			return invalid("log checkpoint %d:%d is before the current %d:%d",
				cp.Segment, cp.Offset, s.LogCheckpoint.Segment, s.LogCheckpoint.Offset)
		}
	}
	deleted := make(map[TableRef]bool, len(e.DeleteTables))
	for _, d := range e.DeleteTables {
		if d.Level < 0 || d.Level >= MaxLevels {
			return invalid("delete table %d: level %d out of range [0, %d)", d.ID, d.Level, MaxLevels)
		}
		if deleted[d] {
			return invalid("delete table %d from L%d twice", d.ID, d.Level)
		}
		if d.Level >= len(s.Levels) || !slices.ContainsFunc(s.Levels[d.Level], func(t iface.TableMeta) bool { return t.ID == d.ID }) {
			if lvl, ok := s.find(d.ID); ok {
				return invalid("delete table %d from L%d: it is in L%d", d.ID, d.Level, lvl)
			}
			return invalid("delete table %d from L%d: no such table", d.ID, d.Level)
		}
		deleted[d] = true
	}
	if len(e.AddTables) == 0 {
		return nil
	}
	existing := make(map[uint64]int)
	for level, tables := range s.Levels {
		for _, t := range tables {
			existing[t.ID] = level
		}
	}
	added := make(map[uint64]bool, len(e.AddTables))
	for _, a := range e.AddTables {
		m := &a.Meta
		if a.Level < 0 || a.Level >= MaxLevels {
			return invalid("add table %d: level %d out of range [0, %d)", m.ID, a.Level, MaxLevels)
		}
		if added[m.ID] {
			return invalid("add table %d twice", m.ID)
		}
		if lvl, ok := existing[m.ID]; ok && !deleted[TableRef{Level: lvl, ID: m.ID}] {
			return invalid("add table %d to L%d: it is already in L%d", m.ID, a.Level, lvl)
		}
		if m.Size < 0 {
			return invalid("add table %d: negative size %d", m.ID, m.Size)
		}
		if iface.Compare(m.Smallest, m.Largest) > 0 {
			return invalid("add table %d: smallest key %q sorts after largest key %q", m.ID, m.Smallest, m.Largest)
		}
		if m.MinVersion > m.MaxVersion {
			return invalid("add table %d: min version %d above max version %d", m.ID, m.MinVersion, m.MaxVersion)
		}
		added[m.ID] = true
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: manifest edit: %s", iface.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// find returns the level holding table id.
func (s *State) find(id uint64) (int, bool) {
	for level, tables := range s.Levels {
		for _, t := range tables {
			if t.ID == id {
				return level, true
			}
		}
	}
	return 0, false
}

func sortLevel(level int, tables []iface.TableMeta) {
	if level == 0 {
		slices.SortFunc(tables, func(a, b iface.TableMeta) int { return -cmpUint(a.ID, b.ID) })
		return
	}
	slices.SortFunc(tables, func(a, b iface.TableMeta) int {
		if c := iface.Compare(a.Smallest, b.Smallest); c != 0 {
			return c
		}
		return cmpUint(a.ID, b.ID)
	})
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// trimLevels makes empty levels nil and drops trailing ones, so that equal
// states have equal representations.
func (s *State) trimLevels() {
	for i := range s.Levels {
		if len(s.Levels[i]) == 0 {
			s.Levels[i] = nil
		}
	}
	n := len(s.Levels)
	for n > 0 && s.Levels[n-1] == nil {
		n--
	}
	if n == 0 {
		s.Levels = nil
	} else {
		s.Levels = s.Levels[:n]
	}
}

// Clone returns a copy of s that can be applied to independently. The level
// slices and the components map are copied; the key bytes are shared (they
// are immutable).
func (s *State) Clone() *State {
	c := *s
	if s.Levels != nil {
		c.Levels = make([][]iface.TableMeta, len(s.Levels))
		for i, tables := range s.Levels {
			c.Levels[i] = slices.Clone(tables)
		}
	}
	c.Components = maps.Clone(s.Components)
	return &c
}

// Snapshot returns one edit that, applied to an empty State, recreates s.
// The edit's key slices alias s's.
func (s *State) Snapshot() *Edit {
	e := &Edit{
		Components:  maps.Clone(s.Components),
		NextFileNum: s.NextFileNum,
		LastVersion: s.LastVersion,
	}
	if s.ValueLogHead != (iface.ValuePtr{}) {
		h := s.ValueLogHead
		e.ValueLogHead = &h
	}
	if s.LogCheckpoint != (iface.LogPosition{}) {
		cp := s.LogCheckpoint
		e.LogCheckpoint = &cp
	}
	for level, tables := range s.Levels {
		for _, t := range tables {
			e.AddTables = append(e.AddTables, TableEntry{Level: level, Meta: t})
		}
	}
	return e
}

// NumTables returns the number of tables in all levels.
func (s *State) NumTables() int {
	n := 0
	for _, tables := range s.Levels {
		n += len(tables)
	}
	return n
}

// isEmpty reports whether s is the state of a freshly created store.
func (s *State) isEmpty() bool {
	return len(s.Levels) == 0 && s.LogCheckpoint == (iface.LogPosition{}) &&
		s.NextFileNum == 0 && s.LastVersion == 0 && len(s.Components) == 0 && s.ValueLogHead == (iface.ValuePtr{})
}

// headLess orders value-log positions.
func headLess(a, b iface.ValuePtr) bool {
	return a.Segment < b.Segment || (a.Segment == b.Segment && a.Offset < b.Offset)
}
