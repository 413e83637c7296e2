package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// DefaultSegmentSize is the segment size used when LogOptions.SegmentSize is 0.
const DefaultSegmentSize = 64 << 20

// maxKeptBuffer bounds the framing buffer kept between appends, so one huge
// record does not pin its memory for the life of the log.
const maxKeptBuffer = 4 << 20

var (
	_ iface.Log    = (*Log)(nil)
	_ iface.NewLog = New
)

// Log is a segmented write-ahead log (see the package comment for the layout
// and the durability contract).
//
// Append, Sync, Rotate, Replay, Release and Close are serialized by a mutex,
// but the iface.Log contract still applies: one writer, and Replay before
// the first Append. Stats may be called at any time from any goroutine.
type Log struct {
	fs          vfs.FS
	dir         string
	segmentSize int64

	mu     sync.Mutex
	closed bool
	err    error     // sticky: a failed write or fsync leaves the log unusable
	segs   []segment // every live segment, ascending; the active one is last
	next   uint64    // number of the next segment to create

	noMmap bool
	active vfs.File // nil until this Log starts its first segment
	// mapped is the active segment's mapping when it is written through one
	// (see Append); the file is then len(mapped) bytes long, zeros past
	// activeSize, until it is sealed or closed.
	mapped []byte
	// mappedNow mirrors mapped != nil for readers without mu.
	mappedNow  atomic.Bool
	activeNum  uint64
	activeSize int64
	synced     int64  // bytes of the active segment known to be durable
	buf        []byte // framing buffer reused by Append

	// tailChecked: Replay has read the newest segment found at Open through
	// to its end (truncating a torn tail). prevSealed: that segment has been
	// checked and fsynced, so a newer one may be started after it.
	tailChecked bool
	prevSealed  bool

	stats struct {
		segments      atomic.Int64
		bytesAppended atomic.Int64
		records       atomic.Int64
		syncs         atomic.Int64
		tornTails     atomic.Int64
	}
}

// Stats are counters of one Log. Counts other than Segments start at zero
// when the log is opened.
type Stats struct {
	Segments      int   // segment files in the directory, the active one included
	BytesAppended int64 // framed bytes written by Append
	Records       int64 // records written by Append
	Syncs         int64 // fsyncs of segment files (Sync, rotation, tail repair)
	TornTails     int64 // torn tails found after a crash and truncated
}

// Open opens the log in opts.Dir, creating the directory if it is missing.
// A nil opts.FS means vfs.Default; a zero SegmentSize means
// DefaultSegmentSize. Open only lists the segments; reading them is Replay's
// job, and no segment is created until the first Append or Rotate.
func Open(opts iface.LogOptions) (*Log, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("wal: %w: empty directory name", iface.ErrInvalidArgument)
	}
	if opts.SegmentSize < 0 {
		return nil, fmt.Errorf("wal: %w: negative segment size %d", iface.ErrInvalidArgument, opts.SegmentSize)
	}
	if err := ensureDir(opts.FS, opts.Dir); err != nil {
		return nil, err
	}
	segs, err := listSegments(opts.FS, opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", opts.Dir, err)
	}
	l := &Log{fs: opts.FS, dir: opts.Dir, segmentSize: opts.SegmentSize, segs: segs, next: 1, noMmap: opts.NoMmap}
	if len(segs) > 0 {
		l.next = segs[len(segs)-1].num + 1
	} else {
		l.prevSealed = true // nothing to seal
	}
	l.stats.segments.Store(int64(len(segs)))
	return l, nil
}

// New is Open behind the iface.NewLog signature.
func New(opts iface.LogOptions) (iface.Log, error) {
	l, err := Open(opts)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ensureDir creates dir if it is missing and makes its entry durable in the
// parent directory.
func ensureDir(fsys vfs.FS, dir string) error {
	if _, err := fsys.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("wal: %w", err)
	}
	if err := fsys.MkdirAll(dir); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if err := fsys.SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("wal: sync parent of %s: %w", dir, err)
	}
	return nil
}

// Append frames rec and writes it to the active segment in one write,
// starting a segment first if this Log has none yet or the active one has
// reached the segment size. It returns the record's position. The record
// survives a process crash once Append returns, a power loss only after a
// later Sync. rec is not retained.
//
// Where the file system's files can be mapped (vfs.Mappable: the OS file
// system on Linux), a segment is created at its full size with its blocks
// allocated and written by copying records into a shared mapping: no system
// call per record, and the bytes are in the kernel's page cache, so a
// process crash still loses nothing. The unwritten rest of the segment is
// zeros, which Replay takes for the end of the log; sealing or closing the
// segment trims it.
func (l *Log) Append(rec []byte) (iface.LogPosition, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return iface.LogPosition{}, err
	}
	if len(rec) > record.MaxPayload {
		return iface.LogPosition{}, fmt.Errorf("wal: %w: record of %d bytes exceeds %d",
			iface.ErrInvalidArgument, len(rec), record.MaxPayload)
	}
	if l.active == nil || l.activeSize >= l.segmentSize {
		if err := l.startSegment(); err != nil {
			return iface.LogPosition{}, err
		}
	}
	l.buf = record.Append(l.buf[:0], rec)
	pos := iface.LogPosition{Segment: l.activeNum, Offset: l.activeSize}
	if l.mapped != nil {
		if end := l.activeSize + int64(len(l.buf)); end > int64(len(l.mapped)) {
			if err := l.growMapping(end); err != nil {
				return iface.LogPosition{}, err
			}
		}
	}
	var n int
	var err error
	if l.mapped != nil {
		// In order, so that a process killed mid-copy leaves a torn
		// tail the reader recognizes (record.TornSpan), not damage.
		n = record.CopyInOrder(l.mapped[l.activeSize:], l.buf)
	} else {
		n, err = l.active.Write(l.buf)
	}
	if err != nil {
		// A partial record may be in the file; appending after it would turn a
		// torn tail into corruption in the middle of the log.
		l.err = fmt.Errorf("wal: write %s: %w", l.activePath(), err)
		_ = l.active.Truncate(l.activeSize)
		return iface.LogPosition{}, l.err
	}
	l.activeSize += int64(n)
	l.stats.bytesAppended.Add(int64(n))
	l.stats.records.Add(1)
	if cap(l.buf) > maxKeptBuffer {
		l.buf = nil
	}
	return pos, nil
}

// Sync fsyncs the active segment, making every record appended before the
// call durable. Records in sealed segments are durable already. A failed
// fsync leaves the log unusable: the kernel may have dropped the unsynced
// pages, so a retry could not be trusted.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if l.active == nil {
		return nil
	}
	if err := l.active.Sync(); err != nil {
		l.err = fmt.Errorf("wal: sync %s: %w", l.activePath(), err)
		l.dropUnsynced()
		return l.err
	}
	l.synced = l.activeSize
	l.stats.syncs.Add(1)
	return nil
}

// dropUnsynced truncates the active segment to what its last successful
// fsync made durable. After a failed fsync the kernel may have dropped the
// pages it could not write while still serving them from its cache; a
// later reader (this process or the next) must not take them for records.
func (l *Log) dropUnsynced() {
	l.unmap()
	_ = l.active.Truncate(l.synced)
}

// AppendsAreCheap reports whether the active segment is written through a
// mapping, so an Append makes no system call: callers that group records
// to save write calls (the engine's commit groups) need not wait for a
// group to form. Safe to call concurrently with any method.
func (l *Log) AppendsAreCheap() bool { return l.mappedNow.Load() }

// mapSize is the smallest mapping of a segment.
const mapSize = 1 << 20

// mapActive maps a new, empty active segment at the segment size, if the
// file can be mapped; otherwise the segment is written with Write.
func (l *Log) mapActive() {
	mf, ok := l.active.(vfs.Mappable)
	if !ok || l.noMmap {
		return
	}
	m, err := mf.Map(max(l.segmentSize, mapSize))
	if err != nil {
		// No room to allocate the segment ahead: write it record by record
		// (the file is still empty: a failed allocation changes nothing).
		_ = l.active.Truncate(0)
		return
	}
	l.mapped = m
	l.mappedNow.Store(true)
}

// growMapping makes the mapping of the active segment reach at least end
// bytes (a record larger than what is left of the segment). If the file
// cannot grow, the segment is trimmed to its records and written with Write
// from then on.
func (l *Log) growMapping(end int64) error {
	mf := l.active.(vfs.Mappable)
	m, err := mf.Map(max(end, 2*int64(len(l.mapped))))
	if err == nil {
		l.mapped = m
		return nil
	}
	l.mapped = nil
	l.mappedNow.Store(false)
	if terr := l.active.Truncate(l.activeSize); terr != nil {
		l.err = fmt.Errorf("wal: trim %s after a failed mapping (%v): %w", l.activePath(), err, terr)
		return l.err
	}
	return nil
}

// unmap drops the active segment's mapping, if any, and trims the
// segment's zero tail. The file keeps every record copied into it.
func (l *Log) unmap() error {
	if l.mapped == nil {
		return nil
	}
	l.mapped = nil
	l.mappedNow.Store(false)
	err := l.active.(vfs.Mappable).Unmap()
	if terr := l.active.Truncate(l.activeSize); err == nil {
		err = terr
	}
	return err
}

// Rotate fsyncs and seals the active segment, creates the next one (making
// its directory entry durable) and returns its number. Records appended after
// Rotate go to that segment, even if none is appended before a restart.
func (l *Log) Rotate() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	if err := l.startSegment(); err != nil {
		return 0, err
	}
	return l.activeNum, nil
}

// Release removes every segment numbered below segment, except the newest
// one (the active segment, or the newest found at Open), which is always
// kept so that segment numbers keep growing across restarts. The removals
// are made durable with an fsync of the directory.
func (l *Log) Release(segment uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return iface.ErrClosed
	}
	removed := 0
	var err error
	for _, s := range l.segs[:max(len(l.segs)-1, 0)] {
		if s.num >= segment {
			break
		}
		if rerr := l.fs.Remove(l.path(s.name)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = fmt.Errorf("wal: release %s: %w", l.path(s.name), rerr)
			break
		}
		removed++
	}
	if removed == 0 {
		return err
	}
	l.segs = append(l.segs[:0], l.segs[removed:]...)
	l.stats.segments.Store(int64(len(l.segs)))
	if serr := l.fs.SyncDir(l.dir); serr != nil && err == nil {
		err = fmt.Errorf("wal: sync dir %s: %w", l.dir, serr)
	}
	return err
}

// Close closes the active segment without syncing it. Every method called
// after Close returns iface.ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return iface.ErrClosed
	}
	l.closed = true
	if l.active == nil {
		return nil
	}
	uerr := l.unmap()
	err := l.active.Close()
	if err == nil {
		err = uerr
	}
	l.active = nil
	if err != nil {
		return fmt.Errorf("wal: close %s: %w", l.activePath(), err)
	}
	return nil
}

// Stats returns the log's counters. It may be called concurrently with any
// method, including during Replay.
func (l *Log) Stats() Stats {
	return Stats{
		Segments:      int(l.stats.segments.Load()),
		BytesAppended: l.stats.bytesAppended.Load(),
		Records:       l.stats.records.Load(),
		Syncs:         l.stats.syncs.Load(),
		TornTails:     l.stats.tornTails.Load(),
	}
}

// usable returns the error a writing method must fail with, if any.
func (l *Log) usable() error {
	if l.closed {
		return iface.ErrClosed
	}
	return l.err
}

func (l *Log) path(name string) string { return filepath.Join(l.dir, name) }

func (l *Log) activePath() string { return l.path(segmentName(l.activeNum)) }

// startSegment seals the active segment (fsync, close), or before this Log's
// first segment the newest one of the previous process, then creates the
// next segment and fsyncs the directory. A failed fsync is sticky; a failed
// create is not (nothing changed, a retry creates the same segment).
func (l *Log) startSegment() error {
	if l.active != nil {
		if err := l.unmap(); err != nil {
			l.err = fmt.Errorf("wal: seal %s: %w", l.activePath(), err)
			return l.err
		}
		if err := l.active.Sync(); err != nil {
			l.err = fmt.Errorf("wal: sync %s: %w", l.activePath(), err)
			l.dropUnsynced()
			return l.err
		}
		l.stats.syncs.Add(1)
		err := l.active.Close()
		l.active = nil
		if err != nil {
			return fmt.Errorf("wal: close %s: %w", l.activePath(), err)
		}
	} else if !l.prevSealed {
		if err := l.sealPrevious(); err != nil {
			return err
		}
	}
	num := l.next
	name := segmentName(num)
	f, err := l.fs.Create(l.path(name))
	if err != nil {
		return fmt.Errorf("wal: create segment: %w", err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		f.Close()
		l.err = fmt.Errorf("wal: sync dir %s: %w", l.dir, err)
		return l.err
	}
	l.active, l.activeNum, l.activeSize, l.synced = f, num, 0, 0
	l.mapActive()
	l.segs = append(l.segs, segment{num: num, name: name})
	l.next = num + 1
	l.stats.segments.Store(int64(len(l.segs)))
	return nil
}

// sealPrevious makes the newest segment of the previous process fit to be
// followed by another: its torn tail, if any, is truncated (it would be
// corruption once it is no longer in the newest segment) and it is fsynced
// (the previous process may have crashed with records the OS still holds).
// When Replay has already read it to its end, it is not read again. Other
// damage is left for Replay and Verify to report.
func (l *Log) sealPrevious() error {
	s := l.segs[len(l.segs)-1]
	path := l.path(s.name)
	f, err := l.fs.OpenAppend(path)
	if err != nil {
		return fmt.Errorf("wal: open %s: %w", path, err)
	}
	defer f.Close()
	if !l.tailChecked {
		size, err := f.Size()
		if err != nil {
			return fmt.Errorf("wal: size of %s: %w", path, err)
		}
		r := record.NewReader(newReadahead(f, nil), path, size, 0)
		for {
			_, _, err := r.Next()
			if err == nil {
				continue
			}
			var torn *record.TornError
			if errors.As(err, &torn) {
				if err := f.Truncate(torn.Offset); err != nil {
					return fmt.Errorf("wal: truncate torn tail of %s: %w", path, err)
				}
				l.stats.tornTails.Add(1)
			} else if !errors.Is(err, iface.ErrCorruption) && !isEOF(err) {
				return fmt.Errorf("wal: %w", err)
			}
			break
		}
	}
	if err := f.Sync(); err != nil {
		l.err = fmt.Errorf("wal: sync %s: %w", path, err)
		return l.err
	}
	l.stats.syncs.Add(1)
	l.prevSealed, l.tailChecked = true, true
	return nil
}
