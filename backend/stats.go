package backend

import (
	"expvar"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/hotkey"
	"github.com/nokv/nokv/vlog"
)

type stats struct {
	writes, batches, gets, groups atomic.Int64
	hotKeyRejects                 atomic.Int64
	vlogGCs, vlogGCBytes          atomic.Int64
	walBytes, walSyncs            atomic.Int64
	flushes, flushBytes           atomic.Int64
	flushNanos                    atomic.Int64
	compactions, moves            atomic.Int64
	compactBytesIn                atomic.Int64
	compactBytesOut, compactNanos atomic.Int64
	stalls, stallNanos            atomic.Int64
}

// LevelStats describes one level of the tree.
type LevelStats struct {
	Level  int
	Tables int
	Bytes  int64
}

// Stats is a point-in-time summary of the engine.
type Stats struct {
	LastVersion        uint64
	Writes             int64 // entries written
	Batches            int64 // batches committed
	CommitGroups       int64 // log writes; Batches/CommitGroups is the mean group size
	Gets               int64
	WALBytes           int64
	WALSyncs           int64
	Memtables          int   // active plus immutable
	MemtableBytes      int64 // approximate
	Flushes            int64
	FlushBytes         int64
	FlushTime          time.Duration
	Compactions        int64
	TrivialMoves       int64
	CompactionBytesIn  int64
	CompactionBytesOut int64
	CompactionTime     time.Duration
	WriteStalls        int64
	WriteStallTime     time.Duration
	Levels             []LevelStats
	Snapshots          int
	BlockCacheHits     uint64 // of the default table format's cache
	BlockCacheMisses   uint64
	HotKeys            []HotKey // most accessed keys, hottest first
	HotKeyRejects      int64    // writes refused by WriteHotKeyLimit
	ValueLogSegments   int      // value-log segment files (0 for inline values)
	ValueLogBytes      int64    // bytes in them
	ValueLogGarbage    int64    // bytes in them known to be garbage
	ValueLogWritten    int64    // value bytes appended since open
	ValueLogGCs        int64    // value-log segments collected
	ValueLogGCBytes    int64    // live value bytes GC rewrote
	BackgroundError    string
}

// Stats returns current statistics.
func (db *DB) Stats() Stats {
	s := Stats{
		LastVersion:        db.lastVersion.Load(),
		Writes:             db.stats.writes.Load(),
		Batches:            db.stats.batches.Load(),
		CommitGroups:       db.stats.groups.Load(),
		Gets:               db.stats.gets.Load(),
		WALBytes:           db.stats.walBytes.Load(),
		WALSyncs:           db.stats.walSyncs.Load(),
		Flushes:            db.stats.flushes.Load(),
		FlushBytes:         db.stats.flushBytes.Load(),
		FlushTime:          time.Duration(db.stats.flushNanos.Load()),
		Compactions:        db.stats.compactions.Load(),
		TrivialMoves:       db.stats.moves.Load(),
		CompactionBytesIn:  db.stats.compactBytesIn.Load(),
		CompactionBytesOut: db.stats.compactBytesOut.Load(),
		CompactionTime:     time.Duration(db.stats.compactNanos.Load()),
		WriteStalls:        db.stats.stalls.Load(),
		WriteStallTime:     time.Duration(db.stats.stallNanos.Load()),
		HotKeys:            hotKeys(db.hot.Top()),
		HotKeyRejects:      db.stats.hotKeyRejects.Load(),
		ValueLogGCs:        db.stats.vlogGCs.Load(),
		ValueLogGCBytes:    db.stats.vlogGCBytes.Load(),
	}
	db.mu.RLock()
	s.Memtables = 1 + len(db.imm)
	s.MemtableBytes = db.mem.m.ApproximateSize()
	for _, m := range db.imm {
		s.MemtableBytes += m.m.ApproximateSize()
	}
	if db.current != nil {
		for l, ts := range db.current.levels {
			ls := LevelStats{Level: l, Tables: len(ts)}
			for _, h := range ts {
				ls.Bytes += h.meta.Size
			}
			s.Levels = append(s.Levels, ls)
		}
	}
	if db.bgErr != nil {
		s.BackgroundError = db.bgErr.Error()
	}
	db.mu.RUnlock()
	if v, ok := db.vs.(*vlog.Store); ok {
		vst := v.Stats()
		s.ValueLogSegments, s.ValueLogBytes, s.ValueLogGarbage, s.ValueLogWritten = vst.Segments, vst.Bytes, vst.DiscardBytes, vst.BytesWritten
	}
	cs := db.cache.Stats()
	s.BlockCacheHits, s.BlockCacheMisses = cs.Hits, cs.Misses
	db.snaps.mu.Lock()
	s.Snapshots = len(db.snaps.live)
	db.snaps.mu.Unlock()
	return s
}

// HotKey is a frequently accessed key. Count is a decayed count of writes
// and sampled reads: halved every HotKeyWindow, so a key touched steadily
// settles near twice its per-window rate.
type HotKey struct {
	Key   []byte
	Count uint32
}

func hotKeys(kc []hotkey.KeyCount) []HotKey {
	out := make([]HotKey, len(kc))
	for i, k := range kc {
		out[i] = HotKey{Key: k.Key, Count: k.Count}
	}
	return out
}

// PublishExpvar publishes the DB's Stats under name in the process's expvar
// registry (served at /debug/vars by net/http's default mux), computed
// afresh on every read. It fails if the name is taken.
func (db *DB) PublishExpvar(name string) error {
	if expvar.Get(name) != nil {
		return fmt.Errorf("%w: expvar %q is already published", iface.ErrInvalidArgument, name)
	}
	expvar.Publish(name, expvar.Func(func() any { return db.Stats() }))
	return nil
}
