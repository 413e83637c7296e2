package backend

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
)

// tableHandle is an open table shared by every version that lists it. It is
// closed when the last version holding it goes away, and its file deleted
// then if compaction removed it from the manifest.
type tableHandle struct {
	db       *DB
	meta     iface.TableMeta
	level    int // the level it is added at; read when a version is installed
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
	return filepath.Join(dir, fmt.Sprintf("%06d.sst", id))
}

// parseTableName returns the number of a table file name, if it is one.
func parseTableName(name string) (uint64, bool) {
	var id uint64
	if filepath.Ext(name) != ".sst" {
		return 0, false
	}
	if _, err := fmt.Sscanf(name, "%d.sst", &id); err != nil {
		return 0, false
	}
	return id, true
}

// version is an immutable set of tables per level: L0 newest first, deeper
// levels sorted by smallest key. Readers hold a reference while they use it.
type version struct {
	levels [][]*tableHandle
	refs   atomic.Int32
}

func newVersion(levels [][]*tableHandle) *version {
	v := &version{levels: levels}
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
		for _, l := range v.levels {
			for _, h := range l {
				h.unref()
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
	return s
}

// sortLevels orders L0 newest first (by file number) and deeper levels by
// smallest key.
func sortLevels(levels [][]*tableHandle) {
	for l, ts := range levels {
		if l == 0 {
			sort.Slice(ts, func(i, j int) bool { return ts[i].meta.ID > ts[j].meta.ID })
		} else {
			sort.Slice(ts, func(i, j int) bool { return iface.Compare(ts[i].meta.Smallest, ts[j].meta.Smallest) < 0 })
		}
	}
}

// keyBelow reports whether any table below level holds userKey.
func (v *version) keyBelow(level int, userKey []byte) bool {
	for l := level + 1; l < len(v.levels); l++ {
		ts := v.levels[l]
		i := sort.Search(len(ts), func(i int) bool {
			return compareUser(iface.UserKey(ts[i].meta.Largest), userKey) >= 0
		})
		if i < len(ts) && compareUser(iface.UserKey(ts[i].meta.Smallest), userKey) <= 0 {
			return true
		}
	}
	return false
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
