package wal

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// Replay calls fn, in order, for every record at or after from: the records
// of from.Segment starting at from.Offset (which must be a position Append
// returned, or the end of a record), then every record of the later segments.
// The payload passed to fn is valid only during the call, and fn must not
// call the Log's methods other than Stats.
//
// A torn tail in the newest segment is truncated (durably) and counted in
// Stats. A torn tail in an older segment, a checksum failure with data after
// it, or a segment missing from the numbering at or after from is returned
// as an *iface.CorruptionError. An error returned by fn stops the replay and
// is returned as is.
//
// A from.Offset past the end of its segment is not an error: the records
// there were acknowledged without a Sync, covered elsewhere (the checkpoint
// was taken after them), and lost to a power loss.
func (l *Log) Replay(from iface.LogPosition, fn func(pos iface.LogPosition, rec []byte) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return iface.ErrClosed
	}
	if from.Offset < 0 {
		return fmt.Errorf("wal: %w: replay from negative offset %d", iface.ErrInvalidArgument, from.Offset)
	}
	if len(l.segs) == 0 {
		return nil
	}
	newest := l.segs[len(l.segs)-1].num
	var buf []byte
	expect := from.Segment // the next segment number that must exist
	for _, s := range l.segs {
		if s.num < from.Segment {
			continue
		}
		if s.num != expect && expect != 0 {
			return iface.Corruptf(l.path(segmentName(expect)), -1,
				"segment %d is missing (found %s after it)", expect, s.name)
		}
		expect = s.num + 1
		start := int64(0)
		if s.num == from.Segment {
			start = from.Offset
		}
		checked, err := l.replaySegment(s, start, s.num == newest, &buf, fn)
		if err != nil {
			return err
		}
		if s.num == newest && checked && !l.prevSealed {
			l.tailChecked = true
		}
	}
	return nil
}

// replaySegment replays one segment from start. It reports whether the
// segment was read through to its end.
func (l *Log) replaySegment(s segment, start int64, newest bool, buf *[]byte,
	fn func(pos iface.LogPosition, rec []byte) error) (checked bool, err error) {
	path := l.path(s.name)
	f, err := l.fs.Open(path)
	if err != nil {
		return false, fmt.Errorf("wal: open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return false, fmt.Errorf("wal: size of %s: %w", path, err)
	}
	if start >= size {
		// Nothing to read. At exactly the end (a checkpoint taken after the
		// last record, the common case after a clean shutdown) the tail counts
		// as checked, so the first Append does not read the segment again.
		return start == size, nil
	}
	ra := newReadahead(f, *buf)
	*buf = ra.buf
	r := record.NewReader(ra, path, size, start)
	for {
		payload, off, err := r.Next()
		if err == nil {
			if err := fn(iface.LogPosition{Segment: s.num, Offset: off}, payload); err != nil {
				return false, err
			}
			continue
		}
		if isEOF(err) {
			return true, nil
		}
		var torn *record.TornError
		if !errors.As(err, &torn) {
			if errors.Is(err, iface.ErrCorruption) {
				return false, err
			}
			return false, fmt.Errorf("wal: %w", err)
		}
		if !newest {
			return false, iface.Corruptf(path, torn.Offset,
				"torn tail in a segment that is not the newest: %s", torn.Reason)
		}
		if err := l.truncate(path, torn.Offset); err != nil {
			return false, err
		}
		l.stats.tornTails.Add(1)
		return true, nil
	}
}

// truncate cuts the segment at path to size bytes and fsyncs it.
func (l *Log) truncate(path string, size int64) error {
	f, err := l.fs.OpenAppend(path)
	if err != nil {
		return fmt.Errorf("wal: open %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("wal: truncate torn tail of %s at %d: %w", path, size, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wal: sync %s: %w", path, err)
	}
	l.stats.syncs.Add(1)
	return nil
}

// Verify reads every segment in dir through to its end and returns the first
// damage as an error naming the file and the offset (an
// *iface.CorruptionError), or nil if every record is intact. Unlike Replay it
// repairs nothing and also reports a torn tail of the newest segment, since a
// log that was reopened cleanly never has one; a zero-filled tail of the
// newest segment is not damage but space allocated ahead of the records (a
// mapped segment of a process that crashed). It does not check that segment
// numbers are contiguous (a crash during Release may leave a gap among
// segments that are no longer needed). It is used by `nokv check`.
func Verify(fs vfs.FS, dir string) error {
	return Read(fs, dir, iface.LogPosition{}, nil)
}

// Read calls fn (if not nil) for every record at or after from, in order,
// without changing any file, and returns damage as Verify does (a torn tail
// included, after fn has seen every record before it). It suits tools that
// inspect a closed store.
func Read(fs vfs.FS, dir string, from iface.LogPosition, fn func(pos iface.LogPosition, rec []byte) error) error {
	segs, err := listSegments(fs, dir)
	if err != nil {
		return fmt.Errorf("wal: read %s: %w", dir, err)
	}
	var buf []byte
	for i, s := range segs {
		if s.num < from.Segment {
			continue
		}
		newest := i == len(segs)-1
		start := int64(0)
		if s.num == from.Segment {
			start = from.Offset
		}
		var each func(int64, []byte) error
		if fn != nil {
			num := s.num
			each = func(off int64, rec []byte) error { return fn(iface.LogPosition{Segment: num, Offset: off}, rec) }
		}
		if err := verifySegment(fs, filepath.Join(dir, s.name), start, newest, &buf, each); err != nil {
			return err
		}
	}
	return nil
}

func verifySegment(fs vfs.FS, path string, start int64, newest bool, buf *[]byte, fn func(off int64, rec []byte) error) error {
	f, err := fs.Open(path)
	if err != nil {
		return fmt.Errorf("wal: verify: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("wal: verify: size of %s: %w", path, err)
	}
	if start >= size {
		return nil
	}
	ra := newReadahead(f, *buf)
	*buf = ra.buf
	r := record.NewReader(ra, path, size, start)
	for {
		rec, off, err := r.Next()
		if err == nil {
			if fn != nil {
				if err := fn(off, rec); err != nil {
					return err
				}
			}
			continue
		}
		if isEOF(err) {
			return nil
		}
		var torn *record.TornError
		if errors.As(err, &torn) {
			if torn.Zero && newest {
				// Space allocated ahead of the records, not yet written:
				// the end of the log (see Log.Append).
				return nil
			}
			return iface.Corruptf(path, torn.Offset, "torn tail: %s", torn.Reason)
		}
		if errors.Is(err, iface.ErrCorruption) {
			return err
		}
		return fmt.Errorf("wal: verify: %w", err)
	}
}

func isEOF(err error) bool { return err == io.EOF }
