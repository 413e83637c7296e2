package compactiontest

import (
	"fmt"
	"slices"
	"sort"

	"pgregory.net/rapid"

	"github.com/nokv/nokv/iface"
)

// Model is a tree of tables whose user keys are integers (formatted as
// "k042" in snapshots) and whose data is a list of fragments: key ranges
// with the versions written there. Applying a plan moves the fragments of
// its inputs into new tables at the output level (main run or ingest shard),
// cut into pieces of about TargetTableSize bytes, or re-parents the input
// tables for a move; Check then verifies, fragment by fragment, that every
// key range still reads its newest data first.
type Model struct {
	NumLevels       int
	TargetTableSize int64
	// Levels[0] is L0, newest first; deeper levels are in key order.
	Levels [][]*Table
	// Ingest[l][s] is shard s of level l's ingest buffer, newest (largest
	// Seq) first.
	Ingest [][][]*Table

	nextID, nextVersion uint64
	flushSize           int64 // the size of flushed tables, as a memtable's
}

// Table is a model table.
type Table struct {
	ID        uint64
	Seq       uint64 // 0: the ID (see iface.TableMeta.Seq)
	Lo, Hi    int    // user-key range, inclusive
	Size      int64
	Deletions int64
	Frags     []Frag
}

// OrderSeq is t.Seq, or t.ID for tables that never had one.
func (t *Table) OrderSeq() uint64 {
	if t.Seq != 0 {
		return t.Seq
	}
	return t.ID
}

// Frag is data written to the keys Lo..Hi with versions MinV..MaxV.
type Frag struct {
	Lo, Hi     int
	MinV, MaxV uint64
}

// Key formats a model key (below 1000) as a user key.
func Key(k int) []byte {
	return []byte{'k', byte('0' + k/100%10), byte('0' + k/10%10), byte('0' + k%10)}
}

// modelKeys is the number of user keys; maxPieces bounds the tables one
// output is cut into. Both keep random trees small enough to check fast.
const (
	modelKeys = 100
	maxPieces = 4
)

// NewModel returns an empty tree.
func NewModel(numLevels int, targetTableSize int64) *Model {
	return &Model{NumLevels: numLevels, TargetTableSize: targetTableSize, Levels: make([][]*Table, numLevels),
		Ingest: make([][][]*Table, numLevels), nextID: 1, nextVersion: 1}
}

// Gen draws a random tree that keeps the invariant: each level below L0 a
// sorted run of a few tables (often none), now and then an ingest buffer of a
// few overlapping tables in random shards above it (as a store written with
// other options, or another base level, leaves behind), L0 a few
// overlapping tables, and versions that grow from the last level up to the
// newest L0 table. Level
// table sizes are log-uniform from 1 KiB to 2 GiB, so that every level
// target and size ratio is exercised; flushes have one size per tree (with a
// little jitter, and an odd one out now and then).
func Gen(t *rapid.T, numLevels int, targetTableSize int64) *Model {
	m := NewModel(numLevels, targetTableSize)
	m.flushSize = int64(1) << rapid.IntRange(10, 24).Draw(t, "flush size shift")
	for lvl := numLevels - 1; lvl >= 1; lvl-- {
		n := rapid.IntRange(0, 4).Draw(t, fmt.Sprintf("L%d tables", lvl))
		if n > 0 {
			m.genLevel(t, lvl, n)
		}
		if rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("L%d buffer", lvl)) == 0 {
			for range rapid.IntRange(1, 4).Draw(t, "buffer tables") {
				lo := rapid.IntRange(0, modelKeys-1).Draw(t, "buffer lo")
				hi := rapid.IntRange(lo, modelKeys-1).Draw(t, "buffer hi")
				v := m.nextVersion
				m.nextVersion += 10
				size := int64(1) << rapid.IntRange(10, 28).Draw(t, "buffer size shift")
				m.addToShard(lvl, rapid.IntRange(0, 5).Draw(t, "shard"), m.newTable(t, lo, hi, v, v+9, size))
			}
		}
	}
	for range rapid.IntRange(0, 8).Draw(t, "L0 tables") {
		m.Flush(t)
	}
	return m
}

// genLevel fills level lvl with a sorted run of n tables of new versions.
func (m *Model) genLevel(t *rapid.T, lvl, n int) {
	pts := rapid.SliceOfNDistinct(rapid.IntRange(0, modelKeys-1), 2*n, 2*n, rapid.ID[int]).Draw(t, fmt.Sprintf("L%d bounds", lvl))
	sort.Ints(pts)
	v := m.nextVersion
	m.nextVersion += 10
	for i := 0; i < n; i++ {
		shift := rapid.IntRange(10, 30).Draw(t, "size shift")
		size := int64(1)<<shift + rapid.Int64Range(0, int64(1)<<shift).Draw(t, "size")
		m.Levels[lvl] = append(m.Levels[lvl], m.newTable(t, pts[2*i], pts[2*i+1], v, v+9, size))
	}
}

// addToShard puts tb into shard sh of level lvl's buffer, in Seq order.
func (m *Model) addToShard(lvl, sh int, tb *Table) {
	for len(m.Ingest[lvl]) <= sh {
		m.Ingest[lvl] = append(m.Ingest[lvl], nil)
	}
	ts := append(m.Ingest[lvl][sh], tb)
	sort.SliceStable(ts, func(i, j int) bool {
		if a, b := ts[i].OrderSeq(), ts[j].OrderSeq(); a != b {
			return a > b
		}
		return ts[i].Lo < ts[j].Lo
	})
	m.Ingest[lvl][sh] = ts
}

func (m *Model) newTable(t *rapid.T, lo, hi int, minV, maxV uint64, size int64) *Table {
	del := int64(0)
	if rapid.IntRange(0, 3).Draw(t, "tombstones") == 0 {
		del = rapid.Int64Range(0, size).Draw(t, "deletions")
	}
	tb := &Table{ID: m.nextID, Lo: lo, Hi: hi, Size: size, Deletions: del, Frags: []Frag{{lo, hi, minV, maxV}}}
	m.nextID++
	return tb
}

// Flush adds a new L0 table, newer than everything in the tree, over a
// random key range, of about the tree's flush size (usually) or of any size
// (large writes, ingested tables).
func (m *Model) Flush(t *rapid.T) {
	lo := rapid.IntRange(0, modelKeys-1).Draw(t, "flush lo")
	hi := rapid.IntRange(lo, modelKeys-1).Draw(t, "flush hi")
	v := m.nextVersion
	m.nextVersion += 10
	size := m.flushSize + rapid.Int64Range(0, m.flushSize/64).Draw(t, "flush jitter")
	if rapid.IntRange(0, 9).Draw(t, "odd flush") == 0 {
		size = int64(1) << rapid.IntRange(10, 30).Draw(t, "odd flush size shift")
	}
	m.Levels[0] = slices.Insert(m.Levels[0], 0, m.newTable(t, lo, hi, v, v+9, size))
}

// Snapshot returns the tree as a policy sees it, with busy marking tables
// being compacted. Like the engine's, its Ingest omits empty trailing shards
// and levels without a buffer, and is nil when every buffer is empty.
func (m *Model) Snapshot(busy map[uint64]bool) *iface.LevelsSnapshot {
	s := &iface.LevelsSnapshot{Levels: make([][]iface.TableMeta, m.NumLevels), Busy: busy}
	for lvl, ts := range m.Levels {
		for _, t := range ts {
			s.Levels[lvl] = append(s.Levels[lvl], t.meta())
		}
	}
	for lvl, shards := range m.Ingest {
		n := len(shards)
		for n > 0 && len(shards[n-1]) == 0 {
			n--
		}
		if n == 0 {
			continue
		}
		if s.Ingest == nil {
			s.Ingest = make([][][]iface.TableMeta, m.NumLevels)
		}
		s.Ingest[lvl] = make([][]iface.TableMeta, n)
		for sh, ts := range shards[:n] {
			for _, t := range ts {
				s.Ingest[lvl][sh] = append(s.Ingest[lvl][sh], t.meta())
			}
		}
	}
	return s
}

func (t *Table) meta() iface.TableMeta {
	minV, maxV := t.Frags[0].MinV, t.Frags[0].MaxV
	for _, f := range t.Frags {
		minV, maxV = min(minV, f.MinV), max(maxV, f.MaxV)
	}
	return iface.TableMeta{
		ID: t.ID, Seq: t.Seq, Size: t.Size,
		Smallest: iface.MakeKey(nil, Key(t.Lo), maxV), Largest: iface.MakeKey(nil, Key(t.Hi), minV),
		Entries: uint64(t.Size), Deletions: uint64(t.Deletions), MinVersion: minV, MaxVersion: maxV,
	}
}

// clone returns a copy of m that later changes to m leave alone.
func (m *Model) clone() *Model {
	c := *m
	c.Levels = make([][]*Table, len(m.Levels))
	for i, ts := range m.Levels {
		c.Levels[i] = slices.Clone(ts)
	}
	c.Ingest = make([][][]*Table, len(m.Ingest))
	for i, shards := range m.Ingest {
		for _, ts := range shards {
			c.Ingest[i] = append(c.Ingest[i], slices.Clone(ts))
		}
	}
	return &c
}

// Tables returns the IDs of every table in the tree.
func (m *Model) Tables() []uint64 {
	var out []uint64
	for _, t := range m.all() {
		out = append(out, t.ID)
	}
	return out
}

// all returns every table in read order: L0 newest first, then per level
// its ingest buffer (largest Seq first, then by key) and its main run.
func (m *Model) all() []*Table {
	var out []*Table
	for lvl, ts := range m.Levels {
		if lvl > 0 {
			out = append(out, m.buffer(lvl)...)
		}
		out = append(out, ts...)
	}
	return out
}

// buffer returns the tables of level lvl's buffer, largest Seq first.
func (m *Model) buffer(lvl int) []*Table {
	var out []*Table
	if lvl < len(m.Ingest) {
		for _, ts := range m.Ingest[lvl] {
			out = append(out, ts...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].OrderSeq(), out[j].OrderSeq(); a != b {
			return a > b
		}
		return out[i].Lo < out[j].Lo
	})
	return out
}

// Apply carries out a plan: its input tables leave their places, and either
// (a move) go as they are to the output, keeping their Seq, or their
// fragments are written to the output as tables of about TargetTableSize
// bytes each, over the inputs' combined key range. Outputs go to
// OutputLevel's main run, or to shard OutputShard of its ingest buffer,
// where a merge's outputs take the largest Seq of the inputs. It then
// checks the invariant.
func (m *Model) Apply(p *iface.CompactionPlan) error {
	if p.OutputLevel < 1 || p.OutputLevel >= m.NumLevels {
		return fmt.Errorf("output level %d out of range", p.OutputLevel)
	}
	var (
		ins       []*Table
		frags     []Frag
		size, del int64
		top       uint64
	)
	for _, in := range p.Inputs {
		if in.Level < 0 || in.Level >= m.NumLevels {
			return fmt.Errorf("input level %d out of range", in.Level)
		}
		list := &m.Levels[in.Level]
		if in.Ingest {
			if in.Shard < 0 || in.Shard >= len(m.Ingest[in.Level]) {
				return fmt.Errorf("L%d has no ingest shard %d", in.Level, in.Shard)
			}
			list = &m.Ingest[in.Level][in.Shard]
		}
		for _, id := range in.Tables {
			i := slices.IndexFunc(*list, func(t *Table) bool { return t.ID == id })
			if i < 0 {
				return fmt.Errorf("table %d is not in %s", id, place(in.Level, in.Ingest, in.Shard))
			}
			t := (*list)[i]
			*list = slices.Delete(*list, i, i+1)
			ins = append(ins, t)
			frags = append(frags, t.Frags...)
			size += t.Size
			del += t.Deletions
			top = max(top, t.OrderSeq())
		}
	}
	if len(frags) == 0 {
		return fmt.Errorf("plan %+v has no inputs", p)
	}
	outs := ins
	if !p.Move {
		outs = m.split(frags, size, del)
		if p.OutputIngest {
			for _, t := range outs {
				t.Seq = top
			}
		}
	}
	for _, t := range outs {
		if p.OutputIngest {
			if p.OutputShard < 0 {
				return fmt.Errorf("output shard %d is negative", p.OutputShard)
			}
			m.addToShard(p.OutputLevel, p.OutputShard, t)
			continue
		}
		m.Levels[p.OutputLevel] = append(m.Levels[p.OutputLevel], t)
	}
	out := m.Levels[p.OutputLevel]
	sort.SliceStable(out, func(i, j int) bool { return out[i].Lo < out[j].Lo })
	return m.Check()
}

// split cuts the combined key range of frags into size/TargetTableSize
// (at most maxPieces) equal key ranges and returns a table for each that holds data, with the
// bytes shared out by the key width of the fragments each receives.
func (m *Model) split(frags []Frag, size, del int64) []*Table {
	lo, hi := frags[0].Lo, frags[0].Hi
	var width int64
	for _, f := range frags {
		lo, hi = min(lo, f.Lo), max(hi, f.Hi)
		width += int64(f.Hi - f.Lo + 1)
	}
	n := int64(1)
	if m.TargetTableSize > 0 {
		n = max(1, (size+m.TargetTableSize-1)/m.TargetTableSize)
	}
	n = min(n, maxPieces, int64(hi-lo+1))
	var out []*Table
	for i := range n {
		plo := lo + int(int64(hi-lo+1)*i/n)
		phi := lo + int(int64(hi-lo+1)*(i+1)/n) - 1
		t := &Table{ID: m.nextID, Lo: phi + 1, Hi: plo - 1}
		var w int64
		for _, f := range frags {
			c := Frag{max(f.Lo, plo), min(f.Hi, phi), f.MinV, f.MaxV}
			if c.Lo > c.Hi {
				continue
			}
			t.Frags = append(t.Frags, c)
			t.Lo, t.Hi = min(t.Lo, c.Lo), max(t.Hi, c.Hi)
			w += int64(c.Hi - c.Lo + 1)
		}
		if len(t.Frags) == 0 {
			continue
		}
		m.nextID++
		t.Size = max(1, int64(float64(size)*float64(w)/float64(width)))
		t.Deletions = min(t.Size, int64(float64(del)*float64(w)/float64(width)))
		out = append(out, t)
	}
	return out
}

// Check verifies the read-path invariant: L0 is in Seq order, newest first;
// every ingest shard is in Seq order and no two tables of a level's buffer
// with the same Seq overlap; every level's main run is sorted and its tables
// do not overlap; and wherever the fragments of two tables overlap, the
// table read first (see all) holds only newer versions.
func (m *Model) Check() error {
	for i := 1; i < len(m.Levels[0]); i++ {
		if a, b := m.Levels[0][i-1], m.Levels[0][i]; a.OrderSeq() <= b.OrderSeq() {
			return fmt.Errorf("L0 table %d (Seq %d) is listed before table %d (Seq %d)", a.ID, a.OrderSeq(), b.ID, b.OrderSeq())
		}
	}
	for lvl, shards := range m.Ingest {
		for sh, ts := range shards {
			for i := 1; i < len(ts); i++ {
				if ts[i-1].OrderSeq() < ts[i].OrderSeq() {
					return fmt.Errorf("%s is not newest first", place(lvl, true, sh))
				}
			}
		}
		buf := m.buffer(lvl)
		for i, a := range buf {
			for _, b := range buf[i+1:] {
				if a.OrderSeq() == b.OrderSeq() && a.Lo <= b.Hi && b.Lo <= a.Hi {
					return fmt.Errorf("L%d buffer tables %d and %d share Seq %d and overlap", lvl, a.ID, b.ID, a.OrderSeq())
				}
			}
		}
	}
	var order []*Table
	where := map[*Table]string{}
	for lvl, ts := range m.Levels {
		for i, t := range ts {
			if t.Lo > t.Hi || len(t.Frags) == 0 {
				return fmt.Errorf("L%d table %d is empty or inverted", lvl, t.ID)
			}
			if lvl > 0 && i > 0 && ts[i-1].Hi >= t.Lo {
				return fmt.Errorf("L%d tables %d [%d,%d] and %d [%d,%d] overlap or are out of order",
					lvl, ts[i-1].ID, ts[i-1].Lo, ts[i-1].Hi, t.ID, t.Lo, t.Hi)
			}
			where[t] = fmt.Sprintf("L%d", lvl)
		}
		if lvl < len(m.Ingest) {
			for sh, ts := range m.Ingest[lvl] {
				for _, t := range ts {
					where[t] = place(lvl, true, sh)
				}
			}
		}
	}
	order = m.all()
	for i, a := range order {
		for _, b := range order[i+1:] {
			if a.Hi < b.Lo || b.Hi < a.Lo {
				continue
			}
			for _, fa := range a.Frags {
				for _, fb := range b.Frags {
					if fa.Hi < fb.Lo || fb.Hi < fa.Lo {
						continue
					}
					if fa.MinV <= fb.MaxV {
						return fmt.Errorf("%s table %d (versions %d..%d over keys %d..%d) is read before %s table %d (versions %d..%d over keys %d..%d)",
							where[a], a.ID, fa.MinV, fa.MaxV, fa.Lo, fa.Hi, where[b], b.ID, fb.MinV, fb.MaxV, fb.Lo, fb.Hi)
					}
				}
			}
		}
	}
	return nil
}
