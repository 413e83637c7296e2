package manifest

import (
	"cmp"
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
	// Levels holds the tables of each level (below L0: its main run).
	// Levels[0] is ordered newest first (by OrderSeq, descending, ties by
	// ID); deeper levels are ordered by Smallest (iface.Compare), ties by
	// ID. Trailing empty levels are trimmed, and an empty level is nil.
	Levels [][]iface.TableMeta
	// Ingest holds the ingest buffers: Ingest[l][s] is shard s of level l's
	// buffer, newest first (by OrderSeq, descending, ties by ID). Trailing
	// empty shards and levels are trimmed; nil when no buffer holds a table.
	Ingest [][][]iface.TableMeta
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
	// ValueSegments is the value log's live segment set, ascending: the
	// segments added by AddValueSegments and not dropped since. Every
	// segment at or below ValueLogHead's is in it unless GC dropped it; a
	// segment past the head may be missing (it was created after the last
	// flush). Nil when none is recorded. Apply never modifies it in place.
	ValueSegments []uint32
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
	s.Ingest = slices.Clone(s.Ingest)
	touched := make(map[int]bool)
	type shardRef struct{ level, shard int }
	touchedShards := make(map[shardRef]bool)
	touchShard := func(level, shard int) {
		for len(s.Ingest) <= level {
			s.Ingest = append(s.Ingest, nil)
		}
		if !touchedShards[shardRef{level, -1}] {
			s.Ingest[level] = slices.Clone(s.Ingest[level])
			touchedShards[shardRef{level, -1}] = true
		}
		for len(s.Ingest[level]) <= shard {
			s.Ingest[level] = append(s.Ingest[level], nil)
		}
		if !touchedShards[shardRef{level, shard}] {
			s.Ingest[level][shard] = slices.Clone(s.Ingest[level][shard])
			touchedShards[shardRef{level, shard}] = true
		}
	}
	for _, d := range e.DeleteTables {
		if shard, i, ok := s.findIngest(d.Level, d.ID); ok {
			touchShard(d.Level, shard)
			s.Ingest[d.Level][shard] = slices.Delete(s.Ingest[d.Level][shard], i, i+1)
			continue
		}
		if !touched[d.Level] {
			s.Levels[d.Level] = slices.Clone(s.Levels[d.Level])
			touched[d.Level] = true
		}
		lvl := s.Levels[d.Level]
		i := slices.IndexFunc(lvl, func(t iface.TableMeta) bool { return t.ID == d.ID })
		s.Levels[d.Level] = slices.Delete(lvl, i, i+1)
	}
	for _, a := range e.AddTables {
		m := a.Meta
		m.Smallest = cloneBytes(m.Smallest)
		m.Largest = cloneBytes(m.Largest)
		if a.Ingest {
			touchShard(a.Level, a.Shard)
			s.Ingest[a.Level][a.Shard] = append(s.Ingest[a.Level][a.Shard], m)
			continue
		}
		for len(s.Levels) <= a.Level {
			s.Levels = append(s.Levels, nil)
		}
		if !touched[a.Level] {
			s.Levels[a.Level] = slices.Clone(s.Levels[a.Level])
			touched[a.Level] = true
		}
		s.Levels[a.Level] = append(s.Levels[a.Level], m)
	}
	for level := range touched {
		sortLevel(level, s.Levels[level])
	}
	for r := range touchedShards {
		if r.shard >= 0 {
			sortBySeq(s.Ingest[r.level][r.shard])
		}
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
	if len(e.AddValueSegments) > 0 || len(e.DropValueSegments) > 0 {
		segs := slices.DeleteFunc(slices.Clone(s.ValueSegments), func(n uint32) bool {
			return slices.Contains(e.DropValueSegments, n)
		})
		segs = append(segs, e.AddValueSegments...)
		slices.Sort(segs)
		if len(segs) == 0 {
			segs = nil
		}
		s.ValueSegments = segs
	}
	return nil
}

// checkValueSegments validates the live-set changes of e: an added segment
// must not be live (nor added twice), a dropped one must be live (and not
// dropped twice), and no segment may be both added and dropped.
func (s *State) checkValueSegments(e *Edit) error {
	for i, n := range e.AddValueSegments {
		if n == 0 {
			return invalid("add value-log segment 0: segment numbers start at 1")
		}
		if slices.Contains(e.AddValueSegments[:i], n) {
			return invalid("add value-log segment %d twice", n)
		}
		if _, live := slices.BinarySearch(s.ValueSegments, n); live {
			return invalid("add value-log segment %d: it is live already", n)
		}
		if slices.Contains(e.DropValueSegments, n) {
			return invalid("value-log segment %d both added and dropped", n)
		}
	}
	for i, n := range e.DropValueSegments {
		if slices.Contains(e.DropValueSegments[:i], n) {
			return invalid("drop value-log segment %d twice", n)
		}
		if _, live := slices.BinarySearch(s.ValueSegments, n); !live {
			return invalid("drop value-log segment %d: it is not live", n)
		}
	}
	return nil
}

// check validates e against s without changing anything.
func (s *State) check(e *Edit) error {
	if err := s.checkValueSegments(e); err != nil {
		return err
	}
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
		_, _, inBuffer := s.findIngest(d.Level, d.ID)
		if !inBuffer && (d.Level >= len(s.Levels) || !slices.ContainsFunc(s.Levels[d.Level], func(t iface.TableMeta) bool { return t.ID == d.ID })) {
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
	for level, shards := range s.Ingest {
		for _, tables := range shards {
			for _, t := range tables {
				existing[t.ID] = level
			}
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
		if a.Ingest && (a.Level == 0 || a.Shard < 0 || a.Shard >= MaxIngestShards) {
			return invalid("add table %d to shard %d of L%d's ingest buffer: L0 has no buffer, shards are 0 to %d",
				m.ID, a.Shard, a.Level, MaxIngestShards-1)
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

// find returns the level holding table id (in its main run or buffer).
func (s *State) find(id uint64) (int, bool) {
	for level, tables := range s.Levels {
		for _, t := range tables {
			if t.ID == id {
				return level, true
			}
		}
	}
	for level := range s.Ingest {
		if _, _, ok := s.findIngest(level, id); ok {
			return level, true
		}
	}
	return 0, false
}

// findIngest returns the shard of level's ingest buffer holding table id and
// its index there.
func (s *State) findIngest(level int, id uint64) (shard, i int, ok bool) {
	if level < 0 || level >= len(s.Ingest) {
		return 0, 0, false
	}
	for shard, tables := range s.Ingest[level] {
		for i, t := range tables {
			if t.ID == id {
				return shard, i, true
			}
		}
	}
	return 0, 0, false
}

// sortBySeq orders tables that may overlap newest first: by OrderSeq,
// descending, ties by ID, descending.
func sortBySeq(tables []iface.TableMeta) {
	slices.SortFunc(tables, func(a, b iface.TableMeta) int {
		if c := cmp.Compare(b.OrderSeq(), a.OrderSeq()); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

func sortLevel(level int, tables []iface.TableMeta) {
	if level == 0 {
		sortBySeq(tables)
		return
	}
	slices.SortFunc(tables, func(a, b iface.TableMeta) int {
		if c := iface.Compare(a.Smallest, b.Smallest); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
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
	for l, shards := range s.Ingest {
		for i := range shards {
			if len(shards[i]) == 0 && shards[i] != nil { // only touched shards can be empty and non-nil
				shards[i] = nil
			}
		}
		n := len(shards)
		for n > 0 && shards[n-1] == nil {
			n--
		}
		if n == 0 {
			s.Ingest[l] = nil
		} else {
			s.Ingest[l] = shards[:n]
		}
	}
	n = len(s.Ingest)
	for n > 0 && s.Ingest[n-1] == nil {
		n--
	}
	if n == 0 {
		s.Ingest = nil
	} else {
		s.Ingest = s.Ingest[:n]
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
	if s.Ingest != nil {
		c.Ingest = make([][][]iface.TableMeta, len(s.Ingest))
		for l, shards := range s.Ingest {
			if shards != nil {
				c.Ingest[l] = make([][]iface.TableMeta, len(shards))
				for i, tables := range shards {
					c.Ingest[l][i] = slices.Clone(tables)
				}
			}
		}
	}
	c.Components = maps.Clone(s.Components)
	c.ValueSegments = slices.Clone(s.ValueSegments)
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
	e.AddValueSegments = slices.Clone(s.ValueSegments)
	if s.LogCheckpoint != (iface.LogPosition{}) {
		cp := s.LogCheckpoint
		e.LogCheckpoint = &cp
	}
	for level, tables := range s.Levels {
		for _, t := range tables {
			e.AddTables = append(e.AddTables, TableEntry{Level: level, Meta: t})
		}
	}
	for level, shards := range s.Ingest {
		for shard, tables := range shards {
			for _, t := range tables {
				e.AddTables = append(e.AddTables, TableEntry{Level: level, Meta: t, Ingest: true, Shard: shard})
			}
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
	for _, shards := range s.Ingest {
		for _, tables := range shards {
			n += len(tables)
		}
	}
	return n
}

// isEmpty reports whether s is the state of a freshly created store.
func (s *State) isEmpty() bool {
	return len(s.Levels) == 0 && len(s.Ingest) == 0 && s.LogCheckpoint == (iface.LogPosition{}) &&
		s.NextFileNum == 0 && s.LastVersion == 0 && len(s.Components) == 0 && s.ValueLogHead == (iface.ValuePtr{}) &&
		len(s.ValueSegments) == 0
}

// headLess orders value-log positions.
func headLess(a, b iface.ValuePtr) bool {
	return a.Segment < b.Segment || (a.Segment == b.Segment && a.Offset < b.Offset)
}
