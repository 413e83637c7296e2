package backend

import (
	"expvar"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/hotkey"
	"github.com/nokv/nokv/vlog"
)

type stats struct {
	writes, batches, gets, groups atomic.Int64
	hotKeyRejects                 atomic.Int64
	widenedGroups                 atomic.Int64
	uselessStops                  atomic.Int64 // hard limits passed with no compaction to wait for
	vlogGCs, vlogGCBytes          atomic.Int64
	prefetched                    atomic.Int64
	walBytes, walSyncs            atomic.Int64
	flushes, flushBytes           atomic.Int64
	flushNanos                    atomic.Int64
	compactions, moves            atomic.Int64
	compactBytesIn                atomic.Int64
	compactBytesOut, compactNanos atomic.Int64
	stalls, stallNanos            atomic.Int64
	delays, delayNanos            atomic.Int64
	userBytes                     atomic.Int64
	levels                        [maxLevels]levelCounters
}

// maxLevels bounds the levels a policy may shape (Options.Validate).
const maxLevels = 16

// levelCounters are the compaction counters of one level since open.
type levelCounters struct {
	in, read, written atomic.Int64
	movedIn, movedOut atomic.Int64
	compactions       atomic.Int64
}

// LevelStats describes one level of the tree: its shape now and what
// compactions did to it since open.
type LevelStats struct {
	Level  int
	Tables int   // tables of the level (its main run below L0)
	Bytes  int64 // their bytes
	// IngestTables and IngestBytes are the level's ingest buffer, if any;
	// IngestRuns its sorted runs (distinct Seqs: the tables one merge
	// writes share a Seq and do not overlap, so a point read consults at
	// most one of them).
	IngestTables int
	IngestRuns   int
	IngestBytes  int64
	// Target and Score are the policy's byte target and score for the
	// level (a score of 1 or more asks for a compaction), for policies that
	// report a shape (leveled); 0 otherwise.
	Target int64
	Score  float64
	// ReadAmp is how many tables of this level a point read may consult:
	// every table in L0; deeper, one per ingest-buffer run plus one for a
	// non-empty main run.
	ReadAmp int

	// Counters since open. L0 counts flushes as both in and written.
	BytesIn       int64   // bytes that came down from above: read by compactions writing here from shallower levels or from this level's ingest buffer into its main run
	BytesRead     int64   // bytes compactions read from this level
	BytesWritten  int64   // bytes written to this level (flushes, compaction outputs)
	BytesMovedIn  int64   // bytes moved here by metadata-only edits, without a rewrite
	BytesMovedOut int64   // bytes moved away likewise
	Compactions   int64   // compactions that wrote this level
	WriteAmp      float64 // BytesWritten / BytesIn; 0 when nothing came in
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
	WriteStalls        int64         // writes stopped at a hard limit or by memtables waiting for flush
	WriteStallTime     time.Duration // how long they were stopped
	WriteDelays        int64         // commit groups delayed because compactions are behind
	WriteDelayTime     time.Duration // how long they were delayed
	Debt               WriteDebt     // the compaction debt now, and what it does to writes
	UserBytes          int64         // key and value bytes of the batches committed
	WriteAmp           float64       // bytes written (WAL, value log, flushes, compaction outputs) per user byte; 0 before the first write
	ReadAmp            int           // tables a point read may consult: the sum of the levels' ReadAmp
	Levels             []LevelStats
	Snapshots          int
	Txns               TxnStats // transactions of the layers above (package mvcc)
	BlockCacheHits     uint64   // of the default table format's cache
	BlockCacheMisses   uint64
	HotKeys            []HotKey // most accessed keys, hottest first
	HotKeyRejects      int64    // writes refused by WriteHotKeyLimit
	WidenedGroups      int64    // commit groups widened because a queued batch wrote a hot key
	StopsSkipped       int64    // hard limits passed because no compaction could pay the debt down
	ValueLogSegments   int      // value-log segment files (0 for inline values)
	ValueLogBytes      int64    // bytes in them
	ValueLogGarbage    int64    // bytes in them known to be garbage
	ValueLogWritten    int64    // value bytes appended since open
	ValueCacheHits     int64    // value-log reads served by its read cache
	ValueCacheMisses   int64    // value-log reads that went to a file
	ValuesPrefetched   int64    // iterator values served by a read ahead (IterOptions.PrefetchValues)
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
		WriteDelays:        db.stats.delays.Load(),
		WriteDelayTime:     time.Duration(db.stats.delayNanos.Load()),
		UserBytes:          db.stats.userBytes.Load(),
		HotKeys:            hotKeys(db.hot.Top()),
		HotKeyRejects:      db.stats.hotKeyRejects.Load(),
		WidenedGroups:      db.stats.widenedGroups.Load(),
		StopsSkipped:       db.stats.uselessStops.Load(),
		Txns:               db.txns.Snapshot(),
		ValueLogGCs:        db.stats.vlogGCs.Load(),
		ValueLogGCBytes:    db.stats.vlogGCBytes.Load(),
		ValuesPrefetched:   db.stats.prefetched.Load(),
	}
	db.mu.RLock()
	s.Memtables = 1 + len(db.imm)
	s.MemtableBytes = db.mem.m.ApproximateSize()
	for _, m := range db.imm {
		s.MemtableBytes += m.m.ApproximateSize()
	}
	v := db.current
	if v != nil {
		v.ref()
	}
	if db.bgErr != nil {
		s.BackgroundError = db.bgErr.Error()
	}
	db.mu.RUnlock()
	if v != nil {
		snap := v.snapshot(db.compactions.Busy())
		s.Levels, s.ReadAmp = db.levelStats(snap)
		s.Debt = db.debtOf(v)
		v.unref()
	}
	if v, ok := db.vs.(*vlog.Store); ok {
		vst := v.Stats()
		s.ValueLogSegments, s.ValueLogBytes, s.ValueLogGarbage, s.ValueLogWritten = vst.Segments, vst.Bytes, vst.DiscardBytes, vst.BytesWritten
		s.ValueCacheHits, s.ValueCacheMisses = vst.CacheHits, vst.CacheMisses
	}
	if s.UserBytes > 0 {
		s.WriteAmp = float64(s.WALBytes+s.ValueLogWritten+s.FlushBytes+s.CompactionBytesOut) / float64(s.UserBytes)
	}
	cs := db.cache.Stats()
	s.BlockCacheHits, s.BlockCacheMisses = cs.Hits, cs.Misses
	db.snaps.mu.Lock()
	s.Snapshots = len(db.snaps.live)
	db.snaps.mu.Unlock()
	return s
}

// shaper is a policy that reports targets and scores per level
// (leveled.Leveled).
type shaper interface {
	Shape(s *iface.LevelsSnapshot) leveled.Shape
}

// levelStats describes each level of the snapshot, with the counters since
// open, and returns the read amplification of the whole tree.
func (db *DB) levelStats(snap *iface.LevelsSnapshot) ([]LevelStats, int) {
	var sh *leveled.Shape
	if p, ok := db.opts.CompactionPolicy.(shaper); ok {
		x := p.Shape(snap)
		sh = &x
	}
	out := make([]LevelStats, len(snap.Levels))
	readAmp := 0
	for l, ts := range snap.Levels {
		ls := LevelStats{Level: l, Tables: len(ts)}
		for _, t := range ts {
			ls.Bytes += t.Size
		}
		if l < len(snap.Ingest) {
			for _, shard := range snap.Ingest[l] {
				ls.IngestTables += len(shard)
				for _, t := range shard {
					ls.IngestBytes += t.Size
				}
			}
			ls.IngestRuns = bufferRuns(snap.Ingest[l])
		}
		ls.ReadAmp = ls.IngestRuns
		switch {
		case l == 0:
			ls.ReadAmp += ls.Tables
		case ls.Tables > 0:
			ls.ReadAmp++
		}
		readAmp += ls.ReadAmp
		if sh != nil && l < len(sh.Targets) {
			ls.Target, ls.Score = sh.Targets[l], sh.Scores[l]
		}
		if l < maxLevels {
			c := &db.stats.levels[l]
			ls.BytesIn, ls.BytesRead, ls.BytesWritten = c.in.Load(), c.read.Load(), c.written.Load()
			ls.BytesMovedIn, ls.BytesMovedOut = c.movedIn.Load(), c.movedOut.Load()
			ls.Compactions = c.compactions.Load()
		}
		if l == 0 {
			// Flushes are L0's input and output (flush.go counts them).
			ls.BytesIn += db.stats.flushBytes.Load()
			ls.BytesWritten += db.stats.flushBytes.Load()
		}
		if ls.BytesIn > 0 {
			ls.WriteAmp = float64(ls.BytesWritten) / float64(ls.BytesIn)
		}
		out[l] = ls
	}
	return out, readAmp
}

// compacted counts a compaction that read inputs (one slice per
// plan.Inputs entry) and wrote out bytes to the output level.
func (s *stats) compacted(plan *iface.CompactionPlan, inputs [][]*tableHandle, out int64) {
	if plan.OutputLevel < 0 || plan.OutputLevel >= maxLevels {
		return
	}
	o := &s.levels[plan.OutputLevel]
	for i, hs := range inputs {
		if i >= len(plan.Inputs) {
			break
		}
		in := plan.Inputs[i]
		if in.Level < 0 || in.Level >= maxLevels {
			continue
		}
		var b int64
		for _, h := range hs {
			b += h.meta.Size
		}
		s.levels[in.Level].read.Add(b)
		if fromAbove(plan, in) {
			o.in.Add(b)
		}
	}
	o.written.Add(out)
	o.compactions.Add(1)
}

// moved counts a compaction carried out by a metadata-only edit.
func (s *stats) moved(plan *iface.CompactionPlan, inputs [][]*tableHandle) {
	if plan.OutputLevel < 0 || plan.OutputLevel >= maxLevels {
		return
	}
	o := &s.levels[plan.OutputLevel]
	for i, hs := range inputs {
		if i >= len(plan.Inputs) || plan.Inputs[i].Level < 0 || plan.Inputs[i].Level >= maxLevels {
			continue
		}
		var b int64
		for _, h := range hs {
			b += h.meta.Size
		}
		s.levels[plan.Inputs[i].Level].movedOut.Add(b)
		o.movedIn.Add(b)
	}
}

// fromAbove reports whether an input brings bytes down into the plan's
// output: it comes from a shallower level, or from the output level's
// ingest buffer into its main run.
func fromAbove(plan *iface.CompactionPlan, in iface.CompactionInput) bool {
	return in.Level < plan.OutputLevel || (in.Level == plan.OutputLevel && in.Ingest && !plan.OutputIngest)
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

// bufferRuns counts the sorted runs of an ingest buffer: its distinct Seqs.
func bufferRuns(shards [][]iface.TableMeta) int {
	seen := make(map[uint64]struct{})
	for _, ts := range shards {
		for i := range ts {
			seen[ts[i].OrderSeq()] = struct{}{}
		}
	}
	return len(seen)
}
