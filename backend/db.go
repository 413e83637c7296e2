// Package backend is NoKV's LSM engine: the DB that owns the commit path,
// memtable rotation, flush to L0, the compaction executor, versions of the
// table set, snapshots and iterators. It reaches every component (memtable,
// log, tables, value store, compaction policy) through the interfaces of
// package iface, handed to it in Options.
//
// # Files in a store directory
//
//	LOCK              exclusive lock held while the store is open
//	CURRENT           names the live manifest
//	MANIFEST-NNNNNN   edit log of the table set (package manifest)
//	NNNNNNNN.wal      write-ahead log segments (package wal)
//	NNNNNN.sst        tables (package sstable)
//	vlog/             the value store's files, if it has any
//
// # What survives a crash
//
// A write returns after its batch is appended to the write-ahead log with one
// write system call and inserted into the memtable. Without Sync the record
// sits in the operating system's page cache: it survives the crash of the
// process but not a power loss or kernel crash. With Sync (per write, or
// SyncWrites for all) the value store and the log are fsynced before the write
// returns, and the write survives a power loss. A batch is one log record with
// one checksum, so after any crash a batch is found whole or not at all, and
// batches are recovered in order: a batch is never found when an earlier
// acknowledged batch is missing.
//
// Flushes and compactions write tables, fsync them and their directory, and
// only then record them in the manifest (itself fsynced); the log segments a
// flush covered are deleted after the manifest records the flush.
package backend

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/nokv/nokv/compaction"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/hotkey"
	"github.com/nokv/nokv/manifest"
	"github.com/nokv/nokv/memtable/segmented"
	"github.com/nokv/nokv/sstable"
)

// memTable is a memtable with the log position of its first record: once it
// is flushed, log records before the next memtable's start are redundant.
type memTable struct {
	m        iface.Memtable
	logStart iface.LogPosition
	reserved atomic.Int64 // bytes promised to committed groups (>= what m holds)
	inflight atomic.Int32 // writers whose batch is logged but not yet inserted
	// vlogEnd is the value-log head when the memtable stopped taking
	// writes: every value its pointers reach lies before it.
	vlogEnd iface.ValuePtr
}

// readState is what a reader needs: the memtables and the table version,
// captured together.
type readState struct {
	mem *memTable
	imm []*memTable // oldest first
	v   *version
}

// DB is an open NoKV store. All methods are safe for concurrent use.
type DB struct {
	dir  string
	opts Options
	// newMem makes memtables: opts.NewMemtable, in segments of
	// opts.MemtableSegmentSize.
	newMem iface.NewMemtable
	// writeFast lets commits skip the checks that take mu; see
	// updateWriteFastLocked.
	writeFast atomic.Bool

	lock     io.Closer
	cache    *sstable.Cache // the default table format's block cache, owned by the DB
	manifest *manifest.Manifest
	log      iface.Log
	vs       iface.ValueStore
	gc       iface.ValueLogGC // vs, if it separates values; else nil
	// gcHorizon is the value-log segment below which every pointer is in a
	// table (not only in the log), so GC may collect those segments.
	gcHorizon atomic.Uint32
	gcMu      sync.Mutex // one GC cycle at a time
	// vlogRecorded is the newest value-log segment recorded live in the
	// manifest (vloggc.go); changed under versionMu.
	vlogRecorded atomic.Uint32

	// commits is the commit pipeline (commit.go).
	commits commitQueue
	// writeMu serializes the commit leader's log stage and every use of log.
	writeMu    sync.Mutex
	recBuf     []byte
	releaseSeg atomic.Uint64 // log segments below this may be released

	// mu guards the fields below; cond is signalled when a flush or
	// compaction finishes, a memtable is rotated, or the DB closes.
	mu      sync.RWMutex
	cond    *sync.Cond
	mem     *memTable
	imm     []*memTable
	current *version
	tables  map[uint64]*tableHandle
	// compactions tracks the running compactions: their tables and output
	// ranges (compaction.State has its own lock).
	compactions *compaction.State
	bgErr       error
	closing     bool
	flushing    bool

	// versionMu serializes manifest edits and version installation.
	versionMu sync.Mutex
	nextFile  atomic.Uint64

	lastVersion atomic.Uint64 // newest version visible to readers

	snaps snapshotList
	hot   *hotkey.Tracker

	flushCh   chan struct{}
	compactCh chan struct{}
	moveCh    chan struct{} // wakes the worker that runs only moves
	quit      chan struct{} // closed by Close
	bgWG      sync.WaitGroup

	stats stats
	txns  TxnCounters
	// cheapLog is the log, if it can tell when its appends cost no system
	// call (wal.Log with mapped segments); unsynced writers then log their
	// own batches instead of forming groups.
	cheapLog interface{ AppendsAreCheap() bool }
	// testHookBeforeCompaction, when set by a test, runs before each
	// compaction is carried out (its tables already registered as busy).
	testHookBeforeCompaction atomic.Pointer[func(*iface.CompactionPlan)]
	throttle                 throttle // write throttling (throttle.go)
}

// Open opens the store in dir, creating it if needed. opts may be nil. It
// returns an error (never panics) when dir is not a directory, is locked by
// another process, was written with other on-disk components, or is damaged.
func Open(dir string, opts *Options) (db *DB, err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	// A store opened without a choice of value store gets the one its
	// manifest records (see load), not the default.
	chosenVS := o.NewValueStore != nil
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var cache *sstable.Cache
	if o.TableFormat == nil {
		o.TableFormat, cache = defaultTableFormat(o.BlockCacheSize)
	}
	fs := o.FS
	if st, err := fs.Stat(dir); err == nil && !st.IsDir() {
		cache.Close()
		return nil, fmt.Errorf("nokv: open %s: not a directory: %w", dir, iface.ErrInvalidArgument)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		cache.Close()
		return nil, fmt.Errorf("nokv: open %s: %w", dir, err)
	}
	if err := fs.MkdirAll(dir); err != nil {
		cache.Close()
		return nil, fmt.Errorf("nokv: create %s: %w", dir, err)
	}
	lock, err := fs.Lock(filepath.Join(dir, "LOCK"))
	if err != nil {
		cache.Close()
		return nil, fmt.Errorf("nokv: open %s: %w", dir, err)
	}
	db = &DB{
		dir:         dir,
		opts:        o,
		newMem:      segmented.Wrap(o.NewMemtable, o.MemtableSegmentSize),
		lock:        lock,
		cache:       cache,
		tables:      make(map[uint64]*tableHandle),
		compactions: compaction.NewState(),
		flushCh:     make(chan struct{}, 1),
		compactCh:   make(chan struct{}, 1),
		moveCh:      make(chan struct{}, 1),
		quit:        make(chan struct{}),
	}
	db.cond = sync.NewCond(&db.mu)
	db.snaps.init()
	db.hot = hotkey.New(o.HotKeyTopN, o.HotKeyWindow)
	d := db
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nokv: open %s: internal error: %v", dir, r)
		}
		if err != nil {
			d.closeResources()
			db = nil
		}
	}()
	if err := db.load(chosenVS); err != nil {
		return nil, err
	}
	if !o.DisableBackgroundWork {
		db.bgWG.Add(1 + o.MaxConcurrentCompactions)
		go db.flushLoop()
		for range o.MaxConcurrentCompactions {
			go db.compactLoop(o.CompactionPolicy.Pick, db.compactCh)
		}
		// A policy that offers its metadata-only moves on their own
		// (iface.MovePicker) gets a worker for them, so that L0 keeps
		// emptying into an ingest buffer while the other workers are inside
		// long merges (a drain rewriting the last level).
		if mp, ok := o.CompactionPolicy.(iface.MovePicker); ok {
			db.bgWG.Add(1)
			go db.compactLoop(mp.PickMove, db.moveCh)
		}
		if db.gc != nil && o.ValueLogGCInterval > 0 {
			db.bgWG.Add(1)
			go db.gcLoop()
		}
		db.maybeScheduleFlush()
		db.maybeScheduleCompaction()
	}
	return db, nil
}

// load opens the manifest, the tables, the value store and the log, and
// replays the log into memtables.
func (db *DB) load(chosenVS bool) error {
	o := &db.opts
	m, err := manifest.Open(o.FS, db.dir, manifest.Options{MaxSize: o.MaxManifestFileSize})
	if err != nil {
		return fmt.Errorf("nokv: open %s: %w", db.dir, err)
	}
	db.manifest = m
	if name := m.State().Components["valuestore"]; !chosenVS && name != "" {
		if f, ok := builtinValueStores[name]; ok {
			o.NewValueStore = f
		}
	}
	state := m.State()
	vs, err := o.NewValueStore(iface.ValueStoreOptions{FS: o.FS, Dir: filepath.Join(db.dir, "vlog"),
		Threshold: o.ValueThreshold, CacheSize: o.ValueCacheSize, Recorded: valueLogRecord(state)})
	if err != nil {
		return fmt.Errorf("nokv: open value store: %w", err)
	}
	db.vs = vs
	db.gc, _ = vs.(iface.ValueLogGC)
	if err := db.adoptValueSegments(state); err != nil {
		return err
	}
	db.gcHorizon.Store(state.ValueLogHead.Segment)
	if err := db.checkComponents(state.Components); err != nil {
		return err
	}
	if n := max(len(state.Levels), len(state.Ingest)); n > o.CompactionPolicy.NumLevels() {
		for l := o.CompactionPolicy.NumLevels(); l < n; l++ {
			if (l < len(state.Levels) && len(state.Levels[l]) > 0) || (l < len(state.Ingest) && len(state.Ingest[l]) > 0) {
				return fmt.Errorf("%w: store has tables in L%d but compaction policy %s shapes %d levels",
					iface.ErrIncompatible, l, o.CompactionPolicy.Name(), o.CompactionPolicy.NumLevels())
			}
		}
	}
	db.nextFile.Store(max(state.NextFileNum, 1))
	db.lastVersion.Store(state.LastVersion)

	// Open every table the manifest lists.
	levels := make([][]*tableHandle, o.CompactionPolicy.NumLevels())
	for l, metas := range state.Levels {
		for _, meta := range metas {
			h, err := db.openTable(meta)
			if err != nil {
				return err
			}
			h.level = l
			levels[l] = append(levels[l], h)
			db.tables[meta.ID] = h
		}
	}
	ingest := make([][][]*tableHandle, o.CompactionPolicy.NumLevels())
	for l, shards := range state.Ingest {
		ingest[l] = make([][]*tableHandle, len(shards))
		for s, metas := range shards {
			for _, meta := range metas {
				h, err := db.openTable(meta)
				if err != nil {
					return err
				}
				h.level, h.ingest, h.shard = l, true, s
				ingest[l][s] = append(ingest[l][s], h)
				db.tables[meta.ID] = h
			}
		}
	}
	db.current = newVersion(levels, ingest)
	db.updateWriteFastLocked()
	if err := db.removeOrphans(state); err != nil {
		return err
	}

	// Replay the log past the checkpoint.
	log, err := o.NewLog(iface.LogOptions{FS: o.FS, Dir: db.dir, SegmentSize: o.LogSegmentSize})
	if err != nil {
		return fmt.Errorf("nokv: open log: %w", err)
	}
	db.log = log
	db.cheapLog, _ = log.(interface{ AppendsAreCheap() bool })
	checkpoint := state.LogCheckpoint
	db.mem = db.newMemTable(0, checkpoint)
	var entries []iface.Entry
	err = log.Replay(checkpoint, func(pos iface.LogPosition, rec []byte) error {
		// A record is one commit group: its batches stay together in one
		// memtable, as they were logged together.
		need := int64(len(rec))
		for rest := rec; len(rest) > 0; {
			_, es, r, err := decodeBatch(rest, entries)
			if err != nil {
				return fmt.Errorf("log segment %d offset %d: %w", pos.Segment, pos.Offset, err)
			}
			if db.danglingPointer(es) {
				// The value log lost this unsynced write's value in a crash,
				// so the write was never durable: the log ends here.
				return errReplayEnd
			}
			entries, rest = es, r
			need += int64(len(es)) * entryOverhead
		}
		if db.mem.reserved.Load()+need > o.MemtableSize { // also when empty: a group larger than a memtable gets its own
			db.imm = append(db.imm, db.mem)
			db.mem = db.newMemTable(need, pos)
		}
		for rest := rec; len(rest) > 0; {
			version, es, r, _ := decodeBatch(rest, entries)
			entries, rest = es, r
			if err := db.insert(db.mem, version, es); err != nil {
				return err
			}
			if version > db.lastVersion.Load() {
				db.lastVersion.Store(version)
			}
		}
		db.mem.reserved.Add(need)
		return nil
	})
	if err != nil && !errors.Is(err, errReplayEnd) {
		return fmt.Errorf("nokv: replay log of %s: %w", db.dir, err)
	}
	db.commits.allocVersion = db.lastVersion.Load()
	// Recovered data goes to a table soon, so that the log segments it came
	// from are released and the next Open replays little. (Without
	// background work nothing would flush it, and rotating would only leave
	// an empty segment behind.)
	stopped := errors.Is(err, errReplayEnd)
	if (db.mem.m.Len() > 0 && !o.DisableBackgroundWork) || stopped {
		seg, err := log.Rotate()
		if err != nil {
			return fmt.Errorf("nokv: rotate log after replay: %w", err)
		}
		db.mem.vlogEnd = db.vlogHead()
		db.imm = append(db.imm, db.mem)
		db.mem = db.newMemTable(0, iface.LogPosition{Segment: seg})
	}
	// Replay stopped at a record whose value the value log lost: that
	// record and every one after it were never durable, but they are still
	// in the log, and the value log will reuse the lost offsets. Flush what
	// was replayed now, so the checkpoint moves past them before any write,
	// and no later replay reads them again.
	for stopped && len(db.imm) > 0 {
		if err := db.flushOne(); err != nil {
			return fmt.Errorf("nokv: flush after a replay that stopped early: %w", err)
		}
	}
	if checkpoint.Segment > 0 {
		db.releaseSeg.Store(checkpoint.Segment)
		if err := log.Release(checkpoint.Segment); err != nil {
			return fmt.Errorf("nokv: release log segments: %w", err)
		}
	}
	return nil
}

// errReplayEnd stops log replay early without an error.
var errReplayEnd = errors.New("end of durable log")

// danglingPointer reports whether an entry points past what the value log
// holds.
func (db *DB) danglingPointer(es []iface.Entry) bool {
	if db.gc == nil {
		return false
	}
	for i := range es {
		if es[i].Kind == iface.KindPointer {
			p, err := iface.DecodeValuePtr(es[i].Value)
			if err != nil || !db.gc.Contains(p) {
				return true
			}
		}
	}
	return false
}

// vlogHead returns the value log's head, or the zero pointer if values stay
// inline.
func (db *DB) vlogHead() iface.ValuePtr {
	if db.gc == nil {
		return iface.ValuePtr{}
	}
	return db.gc.Head()
}

// checkComponents compares the on-disk components recorded in the manifest
// with the configured ones, recording them in a new store.
func (db *DB) checkComponents(recorded map[string]string) error {
	want := map[string]string{
		"table":      db.opts.TableFormat.Name(),
		"valuestore": db.vs.Name(),
	}
	if len(recorded) == 0 {
		return db.manifest.Apply(&manifest.Edit{Components: want})
	}
	for k, w := range want {
		if got, ok := recorded[k]; ok && got != w {
			return fmt.Errorf("%w: %s was written with %s %q, but this DB is configured with %q",
				iface.ErrIncompatible, db.dir, k, got, w)
		}
	}
	for k := range recorded {
		if _, ok := want[k]; !ok {
			return fmt.Errorf("%w: %s records component %q=%q that this build does not know",
				iface.ErrIncompatible, db.dir, k, recorded[k])
		}
	}
	return nil
}

func (db *DB) openTable(meta iface.TableMeta) (*tableHandle, error) {
	name := tableName(db.dir, meta.ID)
	f, err := db.opts.FS.Open(name)
	if err != nil {
		return nil, fmt.Errorf("nokv: open table listed in manifest: %w", err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("nokv: stat %s: %w", name, err)
	}
	if size != meta.Size {
		f.Close()
		return nil, iface.Corruptf(name, -1, "file is %d bytes, manifest records %d", size, meta.Size)
	}
	t, err := db.opts.TableFormat.Open(f, name, meta.ID, size)
	if err != nil {
		return nil, fmt.Errorf("nokv: open table: %w", err)
	}
	return &tableHandle{db: db, meta: meta, t: t}, nil
}

// removeOrphans deletes tables no manifest edit records: outputs of a flush
// or compaction that crashed before its edit.
func (db *DB) removeOrphans(state *manifest.State) error {
	names, err := db.opts.FS.List(db.dir)
	if err != nil {
		return fmt.Errorf("nokv: list %s: %w", db.dir, err)
	}
	live := make(map[uint64]bool)
	for _, l := range state.Levels {
		for _, t := range l {
			live[t.ID] = true
		}
	}
	for _, shards := range state.Ingest {
		for _, ts := range shards {
			for _, t := range ts {
				live[t.ID] = true
			}
		}
	}
	for _, n := range names {
		if id, ok := parseTableName(n); ok && !live[id] {
			if err := db.opts.FS.Remove(filepath.Join(db.dir, n)); err != nil {
				return fmt.Errorf("nokv: remove orphan table: %w", err)
			}
			if id >= db.nextFile.Load() {
				db.nextFile.Store(id + 1)
			}
		}
	}
	return nil
}

func (db *DB) newMemTable(need int64, start iface.LogPosition) *memTable {
	// Slack beyond the rotation threshold covers the arena's fixed costs;
	// the per-entry estimate (entryOverhead) is already pessimistic.
	capacity := db.opts.MemtableSize + need + max(db.opts.MemtableSize/16, 4<<10)
	return &memTable{m: db.newMem(iface.MemtableOptions{Capacity: capacity}), logStart: start}
}

// insert adds a batch's entries to a memtable at version. Writers call it
// concurrently, each with its own batch.
func (db *DB) insert(mt *memTable, version uint64, entries []iface.Entry) error {
	bufp := insertBufs.Get().(*[]byte)
	defer insertBufs.Put(bufp)
	for i := range entries {
		e := &entries[i]
		buf := iface.MakeKey((*bufp)[:0], e.Key, version)
		klen := len(buf)
		buf = iface.EncodeValue(buf, e.Kind, e.ExpiresAt, e.Value)
		*bufp = buf
		if err := mt.m.Add(buf[:klen], buf[klen:]); err != nil {
			return fmt.Errorf("nokv: memtable insert: %w", err)
		}
	}
	return nil
}

var insertBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// acquire returns the current read state with a reference on its version.
func (db *DB) acquire() readState {
	db.mu.RLock()
	rs := readState{mem: db.mem, imm: db.imm, v: db.current}
	rs.v.ref()
	db.mu.RUnlock()
	return rs
}

// Close stops background work, syncs the log and the value store, and
// releases every file. Writes after Close fail with ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closing {
		db.mu.Unlock()
		return iface.ErrClosed
	}
	db.closing = true
	db.updateWriteFastLocked()
	db.cond.Broadcast()
	db.mu.Unlock()
	close(db.quit)
	db.wake()
	db.bgWG.Wait()

	db.writeMu.Lock()
	var err error
	db.mu.RLock()
	bgErr := db.bgErr
	db.mu.RUnlock()
	if bgErr == nil {
		if e := db.vs.Sync(); e != nil {
			err = e
		}
		if e := db.log.Sync(); e != nil && err == nil {
			err = e
		}
	}
	db.writeMu.Unlock()
	var want map[uint64]bool
	// Failed file operations (injected ones included) may leave the
	// debris of a table that was never installed; the next Open removes it.
	if _, faulty := db.opts.FS.(interface{ InjectsFaults() }); invariants && !faulty && err == nil && bgErr == nil {
		want = db.current.tableIDs()
	}
	if e := db.closeResources(); e != nil && err == nil {
		err = e
	}
	if want != nil && err == nil {
		if e := db.checkTableFiles(want); e != nil {
			panic(fmt.Sprintf("nokv: invariant broken at Close of %s: %v", db.dir, e))
		}
	}
	return err
}

// checkTableFiles compares the table files in the directory with want, the
// tables of the last version: each must exist and no other may (obsolete
// tables are removed when their last reader lets go, which Close waits for).
// Tests run it at every clean Close (see invariants).
func (db *DB) checkTableFiles(want map[uint64]bool) error {
	names, err := db.opts.FS.List(db.dir)
	if err != nil {
		return err
	}
	found := map[uint64]bool{}
	for _, n := range names {
		if id, ok := parseTableName(n); ok {
			if !want[id] {
				return fmt.Errorf("table file %s is in no version", n)
			}
			found[id] = true
		}
	}
	for id := range want {
		if !found[id] {
			return fmt.Errorf("table %d of the last version has no file", id)
		}
	}
	return nil
}

// closeResources releases whatever is open; it is also the cleanup of a
// failed Open.
func (db *DB) closeResources() error {
	var err error
	keep := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	if db.log != nil {
		keep(db.log.Close())
	}
	if db.vs != nil {
		keep(db.vs.Close())
	}
	if db.current != nil {
		db.current.unref()
		db.current = nil
	} else {
		for _, h := range db.tables {
			_ = h.t.Close()
		}
	}
	if db.manifest != nil {
		keep(db.manifest.Close())
	}
	if db.lock != nil {
		keep(db.lock.Close())
	}
	db.cache.Close()
	return err
}

// Dir returns the store's directory.
func (db *DB) Dir() string { return db.dir }

// Options returns the options the DB runs with, defaults filled in.
func (db *DB) Options() Options { return db.opts }

// LastVersion returns the newest committed version.
func (db *DB) LastVersion() uint64 { return db.lastVersion.Load() }

// setBgErr makes the DB refuse writes from now on; the cause is reported by
// every later write.
func (db *DB) setBgErr(err error) {
	db.mu.Lock()
	if db.bgErr == nil {
		db.bgErr = err
		db.updateWriteFastLocked()
		db.opts.Logger.Error("background error; the store is now read-only", "err", err)
	}
	db.cond.Broadcast()
	db.mu.Unlock()
}

// ValueStore returns the DB's value store (for tools that list value-log
// segments).
func (db *DB) ValueStore() iface.ValueStore { return db.vs }
