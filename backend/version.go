package backend

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync/atomic"

	"github.com/nokv/nokv/compaction"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/filenum"
)

// tableHandle is an open table shared by every version that lists it. It is
// closed when the last version holding it goes away, and its file deleted
// then if compaction removed it from the manifest.
type tableHandle struct {
	db   *DB
	meta iface.TableMeta
	// level, ingest and shard place the table when a version is installed:
	// level's main run, or shard of level's ingest buffer if ingest is set.
	// Set under versionMu before the install; versions keep their own lists.
	level    int
	ingest   bool
	shard    int
	t        iface.Table
	refs     atomic.Int32
	obsolete atomic.Bool
}

func (h *tableHandle) ref() { h.refs.Add(1) }

func (h *tableHandle) unref() {
	n := h.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic(fmt.Sprintf("nokv: table %d reference count below zero", h.meta.ID))
	}
	_ = h.t.Close()
	if h.obsolete.Load() {
		name := tableName(h.db.dir, h.meta.ID)
		if err := h.db.opts.FS.Remove(name); err != nil {
			h.db.opts.Logger.Warn("removing obsolete table", "file", name, "err", err)
		}
	}
}

func tableName(dir string, id uint64) string {
	return filepath.Join(dir, filenum.Format(id, 6, ".sst"))
}

// parseTableName returns the number of a table file name, if it is one.
func parseTableName(name string) (uint64, bool) { return filenum.Parse(name, ".sst") }

// version is an immutable set of tables per level. Each level has a main
// run (levels: L0 newest first, deeper levels one sorted run by smallest
// key) and, below L0, an ingest buffer of shards (ingest[l][s], newest
// first). Reads go L0, then for each deeper level its buffer tables newest
// first across shards (buffered[l]), then its main run. Readers hold a
// reference while they use it.
type version struct {
	levels   [][]*tableHandle
	ingest   [][][]*tableHandle
	buffered [][]*tableHandle // per level, every buffer table, newest first
	refs     atomic.Int32
}

// newVersion takes the tables placed per level (main runs) and per level and
// shard (buffers), sorts them into read order and references them. ingest
// may be shorter than levels, or nil.
func newVersion(levels [][]*tableHandle, ingest [][][]*tableHandle) *version {
	for l := range ingest {
		n := len(ingest[l])
		for n > 0 && len(ingest[l][n-1]) == 0 {
			n--
		}
		ingest[l] = ingest[l][:n]
	}
	v := &version{levels: levels, ingest: ingest, buffered: make([][]*tableHandle, len(levels))}
	sortLevels(levels)
	for l, shards := range ingest {
		for _, ts := range shards {
			sortBySeq(ts)
			for _, h := range ts {
				h.ref()
			}
			v.buffered[l] = append(v.buffered[l], ts...)
		}
		sortBySeq(v.buffered[l])
	}
	for _, l := range levels {
		for _, h := range l {
			h.ref()
		}
	}
	v.refs.Store(1)
	return v
}

func (v *version) ref() { v.refs.Add(1) }

func (v *version) unref() {
	if v.refs.Add(-1) == 0 {
		v.each(func(h *tableHandle) { h.unref() })
	}
}

// without returns fresh placement lists of v's tables (main runs, and
// buffers per level and shard) minus removed, for the next version.
func (v *version) without(removed map[uint64]bool) ([][]*tableHandle, [][][]*tableHandle) {
	levels := make([][]*tableHandle, len(v.levels))
	ingest := make([][][]*tableHandle, len(v.levels))
	for l, ts := range v.levels {
		for _, h := range ts {
			if !removed[h.meta.ID] {
				levels[l] = append(levels[l], h)
			}
		}
	}
	for l, shards := range v.ingest {
		for s, ts := range shards {
			for _, h := range ts {
				if !removed[h.meta.ID] {
					for len(ingest[l]) <= s {
						ingest[l] = append(ingest[l], nil)
					}
					ingest[l][s] = append(ingest[l][s], h)
				}
			}
		}
	}
	return levels, ingest
}

// tableIDs returns the IDs of every table v lists, buffers included.
func (v *version) tableIDs() map[uint64]bool {
	ids := map[uint64]bool{}
	for _, l := range v.levels {
		for _, h := range l {
			ids[h.meta.ID] = true
		}
	}
	for _, shards := range v.ingest {
		for _, ts := range shards {
			for _, h := range ts {
				ids[h.meta.ID] = true
			}
		}
	}
	return ids
}

// invariants turns on consistency checks of every installed version (tests
// set it; see invariants_test.go).
var invariants = false

// check verifies v's shape: every main run below L0 is sorted and its tables
// do not overlap (on user keys), L0 and every buffer shard are newest first,
// no table is listed twice, and every table's placement fields agree with
// where it is listed.
func (v *version) check() error {
	seen := map[uint64]bool{}
	place := func(h *tableHandle, level int, ingest bool, shard int) error {
		if seen[h.meta.ID] {
			return fmt.Errorf("table %d listed twice", h.meta.ID)
		}
		seen[h.meta.ID] = true
		if h.level != level || h.ingest != ingest || (ingest && h.shard != shard) {
			return fmt.Errorf("table %d listed in L%d (ingest %v shard %d) but placed in L%d (ingest %v shard %d)",
				h.meta.ID, level, ingest, shard, h.level, h.ingest, h.shard)
		}
		return nil
	}
	newestFirst := func(ts []*tableHandle, where string) error {
		for i := 1; i < len(ts); i++ {
			if ts[i-1].meta.OrderSeq() < ts[i].meta.OrderSeq() {
				return fmt.Errorf("%s: table %d (seq %d) before older table %d (seq %d)", where,
					ts[i-1].meta.ID, ts[i-1].meta.OrderSeq(), ts[i].meta.ID, ts[i].meta.OrderSeq())
			}
		}
		return nil
	}
	for l, ts := range v.levels {
		for i, h := range ts {
			if err := place(h, l, false, 0); err != nil {
				return err
			}
			if l > 0 && i > 0 && compareUser(iface.UserKey(ts[i-1].meta.Largest), iface.UserKey(h.meta.Smallest)) >= 0 {
				return fmt.Errorf("L%d: tables %d and %d overlap or are out of order", l, ts[i-1].meta.ID, h.meta.ID)
			}
		}
	}
	if err := newestFirst(v.levels[0], "L0"); err != nil {
		return err
	}
	for l, shards := range v.ingest {
		if len(shards) > 0 && l == 0 {
			return fmt.Errorf("L0 has an ingest buffer")
		}
		for s, ts := range shards {
			for _, h := range ts {
				if err := place(h, l, true, s); err != nil {
					return err
				}
			}
			if err := newestFirst(ts, fmt.Sprintf("L%d ingest shard %d", l, s)); err != nil {
				return err
			}
		}
		if err := newestFirst(v.buffered[l], fmt.Sprintf("L%d ingest buffer", l)); err != nil {
			return err
		}
	}
	return nil
}

// each calls fn for every table of v.
func (v *version) each(fn func(*tableHandle)) {
	for _, l := range v.levels {
		for _, h := range l {
			fn(h)
		}
	}
	for _, shards := range v.ingest {
		for _, ts := range shards {
			for _, h := range ts {
				fn(h)
			}
		}
	}
}

// snapshot describes the version to a compaction policy.
func (v *version) snapshot(busy map[uint64]bool) *iface.LevelsSnapshot {
	s := &iface.LevelsSnapshot{Levels: make([][]iface.TableMeta, len(v.levels)), Busy: busy}
	for i, l := range v.levels {
		s.Levels[i] = make([]iface.TableMeta, len(l))
		for j, h := range l {
			s.Levels[i][j] = h.meta
		}
	}
	for l, shards := range v.ingest {
		if len(shards) == 0 {
			continue
		}
		if s.Ingest == nil {
			s.Ingest = make([][][]iface.TableMeta, len(v.levels))
		}
		s.Ingest[l] = make([][]iface.TableMeta, len(shards))
		for i, ts := range shards {
			s.Ingest[l][i] = make([]iface.TableMeta, len(ts))
			for j, h := range ts {
				s.Ingest[l][i][j] = h.meta
				s.Ingest[l][i][j].Seq = h.meta.OrderSeq() // as the manifest records it
			}
		}
	}
	return s
}

// sortLevels orders L0 newest first (by Seq) and deeper levels by smallest
// key.
func sortLevels(levels [][]*tableHandle) {
	for l, ts := range levels {
		if l == 0 {
			sortBySeq(ts)
		} else {
			sort.Slice(ts, func(i, j int) bool { return iface.Compare(ts[i].meta.Smallest, ts[j].meta.Smallest) < 0 })
		}
	}
}

// sortBySeq orders tables that may overlap newest first: by OrderSeq, ties
// by ID (as manifest.State does).
func sortBySeq(ts []*tableHandle) {
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i].meta.OrderSeq(), ts[j].meta.OrderSeq()
		if a != b {
			return a > b
		}
		return ts[i].meta.ID > ts[j].meta.ID
	})
}

// keyBelow reports whether a table below out holds userKey: for the main
// run of a level, any table of a deeper level (buffer or main run); for an
// ingest shard, also the level's main run and every table of its buffer not
// in skip (the compaction's inputs). Other buffer tables count even when
// newer: keeping a tombstone is always safe.
func (v *version) keyBelow(out compaction.Output, skip map[uint64]bool, userKey []byte) bool {
	holds := func(h *tableHandle) bool {
		return compareUser(iface.UserKey(h.meta.Smallest), userKey) <= 0 && compareUser(iface.UserKey(h.meta.Largest), userKey) >= 0
	}
	first := out.Level + 1
	if out.Ingest {
		first = out.Level
		if out.Level < len(v.buffered) {
			for _, h := range v.buffered[out.Level] {
				if !skip[h.meta.ID] && holds(h) {
					return true
				}
			}
		}
	}
	for l := first; l < len(v.levels); l++ {
		if l > out.Level {
			for _, h := range v.buffered[l] {
				if holds(h) {
					return true
				}
			}
		}
		if levelFindUser(v.levels[l], userKey) != nil {
			return true
		}
	}
	return false
}

// levelFindUser returns the table of a sorted run whose key range holds
// userKey.
func levelFindUser(ts []*tableHandle, userKey []byte) *tableHandle {
	i := sort.Search(len(ts), func(i int) bool {
		return compareUser(iface.UserKey(ts[i].meta.Largest), userKey) >= 0
	})
	if i < len(ts) && compareUser(iface.UserKey(ts[i].meta.Smallest), userKey) <= 0 {
		return ts[i]
	}
	return nil
}

// appendIters appends iterators over every table of v in read order: L0
// newest first, then per deeper level its buffer tables newest first and
// its main run as one level iterator.
func (v *version) appendIters(iters []iface.Iterator) []iface.Iterator {
	for _, h := range v.levels[0] {
		iters = append(iters, h.t.NewIterator())
	}
	for l := 1; l < len(v.levels); l++ {
		for _, h := range v.buffered[l] {
			iters = append(iters, h.t.NewIterator())
		}
		if len(v.levels[l]) > 0 {
			iters = append(iters, newLevelIter(v.levels[l]))
		}
	}
	return iters
}

// levelFind returns the table of a sorted level that may hold ikey.
func levelFind(ts []*tableHandle, ikey []byte) *tableHandle {
	i := sort.Search(len(ts), func(i int) bool { return iface.Compare(ts[i].meta.Largest, ikey) >= 0 })
	if i == len(ts) {
		return nil
	}
	if compareUser(iface.UserKey(ts[i].meta.Smallest), iface.UserKey(ikey)) > 0 {
		return nil
	}
	return ts[i]
}
