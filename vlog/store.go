package vlog

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

var (
	_ iface.ValueStore    = (*Store)(nil)
	_ iface.NewValueStore = New
)

// Store is the value log: an iface.ValueStore that appends large values to
// segment files and hands out pointers to them (see the package comment for
// the format and the durability contract).
//
// Concurrency: Write, Sync and Close are serialized (the engine calls Write
// and Sync from one commit leader at a time); Read, Contains,
// IterateSegment, Segments, PickForGC, Head, Stats, AddDiscard,
// PersistDiscard, Pin and RemoveSegment may be called from any goroutine,
// concurrently with everything.
type Store struct {
	opts     Options
	fs       vfs.FS
	dir      string
	readOnly bool

	// writeMu serializes Write, Sync, rotation and Close.
	writeMu    sync.Mutex
	err        error    // sticky: a failed write or fsync stops all writes
	active     *segment // nil only for a read-only store
	activeSize int64    // end of the active segment's written records
	syncedSize int64    // end of what the last successful fsync of it covered
	untrusted  bool     // an fsync of the active segment failed
	unsynced   bool     // the active segment holds bytes not yet fsynced
	buf        []byte   // records of one batch, written with one call

	activeNum atomic.Uint32           // number of the active segment
	headSeg   atomic.Pointer[segment] // the active segment, for Head without locks
	closed    atomic.Bool

	// segMu guards segs; Read takes it shared to find a segment and take a
	// reference on it.
	segMu sync.RWMutex
	segs  map[uint32]*segment

	pins pinTable

	cache *valueCache // nil when Options.CacheSize is negative

	disc discardStats

	bgMu  sync.Mutex
	bgErr error // failures of deferred work (closing, deleting removed files)

	stats struct {
		bytesWritten atomic.Int64
		records      atomic.Int64
		syncs        atomic.Int64
		reads        atomic.Int64
		tornTails    atomic.Int64
		orphans      atomic.Int64
	}
	removed atomic.Int64 // segment files deleted
}

// Open opens (creating if needed) the value log in opts.Dir with default
// Options beyond those iface.ValueStoreOptions carries.
func Open(opts iface.ValueStoreOptions) (*Store, error) {
	return OpenWith(Options{FS: opts.FS, Dir: opts.Dir, Threshold: opts.Threshold,
		CacheSize: opts.CacheSize, Recorded: opts.Recorded})
}

// New is Open behind the iface.NewValueStore signature.
func New(opts iface.ValueStoreOptions) (iface.ValueStore, error) {
	s, err := Open(opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NewWithOptions returns an iface.NewValueStore that opens a Store with o,
// taking FS, Dir and (when non-zero) Threshold from the engine's
// iface.ValueStoreOptions.
func NewWithOptions(o Options) iface.NewValueStore {
	return func(vo iface.ValueStoreOptions) (iface.ValueStore, error) {
		c := o
		c.FS, c.Dir, c.Recorded = vo.FS, vo.Dir, vo.Recorded
		if vo.Threshold != 0 {
			c.Threshold = vo.Threshold
		}
		if vo.CacheSize != 0 {
			c.CacheSize = vo.CacheSize
		}
		s, err := OpenWith(c)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// OpenWith opens (creating if needed) the value log described by o. It
// trims a torn tail of the newest segment, or rewrites its header if a
// crash cut that short (the only repairs it makes), and
// fails with an *iface.CorruptionError naming the file and offset on any
// other damage it meets: a bad header of any segment, damage inside the
// newest segment, a damaged DISCARD file. Sealed segments are not read
// through; Read and Verify check their records.
func OpenWith(o Options) (*Store, error) {
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := ensureDir(o.FS, o.Dir); err != nil {
		return nil, err
	}
	s := newStore(o, false)
	if err := s.load(); err != nil {
		s.closeSegments()
		return nil, err
	}
	return s, nil
}

// OpenReadOnly opens the value log in dir for reading without changing
// anything: no torn tail is trimmed, no segment created, and Write, Sync,
// AddDiscard and RemoveSegment fail or do nothing. It serves `nokv check`,
// which resolves every pointer of a closed store, and inspection tools.
func OpenReadOnly(fsys vfs.FS, dir string) (*Store, error) {
	o := Options{FS: fsys, Dir: dir}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s := newStore(o, true)
	if err := s.load(); err != nil {
		s.closeSegments()
		return nil, err
	}
	return s, nil
}

func newStore(o Options, readOnly bool) *Store {
	s := &Store{opts: o, fs: o.FS, dir: o.Dir, readOnly: readOnly, segs: map[uint32]*segment{},
		cache: newValueCache(o.CacheSize)}
	s.pins.init()
	s.disc.init(s)
	return s
}

// ensureDir creates dir if it is missing and makes its entry durable.
func ensureDir(fsys vfs.FS, dir string) error {
	if _, err := fsys.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf("vlog: %w", err)
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	if err := fsys.SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("vlog: sync parent of %s: %w", dir, err)
	}
	return nil
}

// Name returns "vlog/v1", the format name recorded in the manifest.
func (s *Store) Name() string { return Name }

// Threshold returns the value size from which values are separated.
func (s *Store) Threshold() int { return s.opts.Threshold }

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// Head returns the position the next record will be written at: the active
// segment and the end of its records (Len is 0). Every pointer handed out so
// far is below it. The engine records it in the manifest with each flush;
// called concurrently with Write it may return a position just before or
// just after the batch in flight.
func (s *Store) Head() iface.ValuePtr {
	// Lock-free: the commit leader asks for every group.
	seg := s.headSeg.Load()
	if seg == nil {
		return iface.ValuePtr{}
	}
	return iface.ValuePtr{Segment: seg.num, Offset: uint32(seg.size.Load())}
}

// Stats are counters of one Store. Counters other than Segments, Bytes and
// DiscardBytes start at zero when the store is opened.
type Stats struct {
	Segments        int   // segment files, the active one included
	Bytes           int64 // bytes in those files
	DiscardBytes    int64 // garbage bytes recorded by AddDiscard
	BytesWritten    int64 // record bytes appended by Write
	Records         int64 // records appended by Write
	Syncs           int64 // fsyncs of segment files
	Reads           int64 // values read by Read
	CacheHits       int64 // Reads served by the read cache
	CacheMisses     int64 // Reads that went to the file (with the cache enabled)
	CacheBytes      int64 // bytes the read cache holds
	TornTails       int64 // torn tails trimmed at Open
	Orphans         int64 // segment files GC dropped but a crash left behind, removed at Open
	SegmentsRemoved int64 // segment files deleted after RemoveSegment
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{
		BytesWritten:    s.stats.bytesWritten.Load(),
		Records:         s.stats.records.Load(),
		Syncs:           s.stats.syncs.Load(),
		Reads:           s.stats.reads.Load(),
		CacheBytes:      s.cache.bytes(),
		TornTails:       s.stats.tornTails.Load(),
		Orphans:         s.stats.orphans.Load(),
		SegmentsRemoved: s.removed.Load(),
	}
	if s.cache != nil {
		st.CacheHits, st.CacheMisses = s.cache.hits.Load(), s.cache.misses.Load()
	}
	for _, si := range s.Segments() {
		st.Segments++
		st.Bytes += si.Size
		st.DiscardBytes += si.Discard
	}
	return st
}

// Close persists the discard statistics and releases the segments; it does
// not sync (the engine calls Sync first). Segments whose removal waited for
// pins are deleted now. Reads in flight finish on their own references.
// Methods called after Close return iface.ErrClosed. Close also returns the
// first failure of deferred work (closing or deleting a segment file after
// its last reader left) met since Open.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed.Swap(true) {
		return iface.ErrClosed
	}
	var err error
	if !s.readOnly {
		err = s.disc.persist()
	}
	if s.untrusted {
		// After a failed fsync the kernel may have dropped the pages it
		// could not write while still serving them from its cache. This
		// process kept reading them; the next one must not take them for
		// values (it would append after them, or a replayed pointer would
		// resolve to them), so cut the segment back to what is durable.
		_ = s.active.f.Truncate(s.syncedSize)
	}
	// Removed segments still waiting for pins are in segs and marked, so
	// dropping the store's references deletes them too.
	s.pins.mu.Lock()
	s.pins.doomed = nil
	s.pins.mu.Unlock()
	s.closeSegments()
	s.bgMu.Lock()
	if err == nil {
		err = s.bgErr
	}
	s.bgMu.Unlock()
	return err
}

// closeSegments drops the Store's reference on every segment.
func (s *Store) closeSegments() {
	s.segMu.Lock()
	segs := s.segs
	s.segs = map[uint32]*segment{}
	s.segMu.Unlock()
	for _, seg := range segs {
		seg.unref()
	}
}

// noteBgErr keeps the first error of deferred work for Close.
func (s *Store) noteBgErr(err error) {
	s.bgMu.Lock()
	if s.bgErr == nil {
		s.bgErr = err
	}
	s.bgMu.Unlock()
}

// usable returns the error a writing method must fail with, if any. Called
// with writeMu held.
func (s *Store) usable() error {
	if s.closed.Load() {
		return iface.ErrClosed
	}
	if s.readOnly {
		return fmt.Errorf("vlog: %w: store opened read-only", iface.ErrInvalidArgument)
	}
	return s.err
}

// errSegmentMissing builds the error for a pointer into a segment the store
// does not hold.
func (s *Store) errSegmentMissing(ptr iface.ValuePtr) error {
	return iface.Corruptf(s.path(segmentName(ptr.Segment)), int64(ptr.Offset),
		"value pointer into segment %d, which does not exist (removed or never written)", ptr.Segment)
}

var _ iface.ValueLogGC = (*Store)(nil)
