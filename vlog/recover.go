package vlog

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math"
	"path/filepath"
	"slices"
	"sort"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// segmentFile is a segment file found in the directory.
type segmentFile struct {
	num  uint32
	name string
}

// listSegments returns the segment files in dir, ascending by number, and
// every name in dir. Two names for one number ("7.vlog" and "000007.vlog")
// are corruption: which one holds the records cannot be told.
func listSegments(fsys vfs.FS, dir string) ([]segmentFile, []string, error) {
	names, err := fsys.List(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("vlog: list %s: %w", dir, err)
	}
	var segs []segmentFile
	for _, name := range names {
		if num, ok := parseSegmentName(name); ok {
			segs = append(segs, segmentFile{num: num, name: name})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].num < segs[j].num })
	for i := 1; i < len(segs); i++ {
		if segs[i].num == segs[i-1].num {
			return nil, nil, iface.Corruptf(filepath.Join(dir, segs[i].name), -1,
				"segment number %d is also used by %s", segs[i].num, segs[i-1].name)
		}
	}
	return segs, names, nil
}

// load opens every segment of the directory, checks their headers, recovers
// the newest one (trimming a torn tail unless read-only), starts the first
// segment of an empty store, and loads the discard statistics.
func (s *Store) load() error {
	files, names, err := listSegments(s.fs, s.dir)
	if err != nil {
		return err
	}
	if files, err = s.reconcile(files); err != nil {
		return err
	}
	for _, name := range names {
		if name == discardTmpName && !s.readOnly {
			// A rewrite of DISCARD that did not reach its rename.
			if err := s.fs.Remove(s.path(name)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return fmt.Errorf("vlog: remove %s: %w", s.path(name), err)
			}
		}
	}
	for i, sf := range files {
		seg, err := s.openSegment(sf, i == len(files)-1)
		if err != nil {
			return err
		}
		s.segs[sf.num] = seg
	}
	if len(files) == 0 {
		if s.readOnly {
			return s.disc.load()
		}
		seg, err := s.createSegment(1)
		if err != nil {
			return err
		}
		s.segs[1] = seg
		files = append(files, segmentFile{num: 1})
	}
	newest := s.segs[files[len(files)-1].num]
	s.activeNum.Store(newest.num)
	s.headSeg.Store(newest)
	if !s.readOnly {
		s.active, s.activeSize = newest, newest.size.Load()
		s.syncedSize = s.activeSize
	}
	return s.disc.load()
}

// reconcile checks the segment files against the manifest's record of the
// live set (Options.Recorded) and returns the files to open:
//
//   - a live segment whose file is missing is corruption (the values of
//     tables that point into it are lost), reported with the file name;
//   - a file above the recorded head that is not live is the normal crash
//     case (created or filled after the last flush; the log replays the
//     writes that point into it) and is kept;
//   - a file below the head that is not live was dropped by GC, whose crash
//     kept it from being deleted: GC records the drop only after the live
//     values are rewritten and synced, so nothing can reach it, and it is
//     removed (a read-only store just leaves it out).
//
// An empty live set means nothing was recorded (a store written before
// the live set was kept) and every file is kept.
func (s *Store) reconcile(files []segmentFile) ([]segmentFile, error) {
	rec := s.opts.Recorded
	if rec == nil || len(rec.Live) == 0 {
		return files, nil
	}
	present := make(map[uint32]bool, len(files))
	for _, f := range files {
		present[f.num] = true
	}
	for _, n := range rec.Live {
		if !present[n] {
			return nil, iface.Corruptf(s.path(segmentName(n)), -1,
				"value-log segment %d is live in the manifest but its file is missing", n)
		}
	}
	keep := files[:0:0]
	removed := false
	for _, f := range files {
		if _, live := slices.BinarySearch(rec.Live, f.num); live || f.num >= rec.Head.Segment {
			keep = append(keep, f)
			continue
		}
		s.stats.orphans.Add(1)
		if s.readOnly {
			continue
		}
		if err := s.fs.Remove(s.path(f.name)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return nil, fmt.Errorf("vlog: remove segment %s, dropped by GC: %w", s.path(f.name), err)
		}
		removed = true
	}
	if removed {
		if err := s.fs.SyncDir(s.dir); err != nil {
			return nil, fmt.Errorf("vlog: sync %s: %w", s.dir, err)
		}
	}
	return keep, nil
}

// openSegment opens one segment file and checks its header. The newest
// segment is also read through: a torn tail is trimmed and the file fsynced
// (the previous process may have crashed with records the OS still held,
// which the log's replay may bring back), damage is an error.
func (s *Store) openSegment(sf segmentFile, newest bool) (*segment, error) {
	path := s.path(sf.name)
	var f vfs.File
	var err error
	writable := newest && !s.readOnly
	if writable {
		f, err = s.fs.OpenAppend(path)
	} else {
		f, err = s.fs.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("vlog: open %s: %w", path, err)
	}
	seg, err := s.checkSegment(f, sf, path, newest, writable)
	if err != nil {
		f.Close()
		return nil, err
	}
	return seg, nil
}

func (s *Store) checkSegment(f vfs.File, sf segmentFile, path string, newest, writable bool) (*segment, error) {
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("vlog: size of %s: %w", path, err)
	}
	if size > math.MaxUint32 {
		return nil, iface.Corruptf(path, -1, "segment of %d bytes is too large for 32-bit value pointers", size)
	}
	sc := newScanner(f, path, 0, size)
	if size < SegmentHeaderLen {
		zero, err := sc.zeroTail(0)
		if err != nil {
			return nil, err
		}
		if !newest || !zero && size > 0 && !isHeaderPrefix(sc, size, sf.num) {
			return nil, iface.Corruptf(path, 0, "segment of %d bytes is shorter than its %d-byte header", size, SegmentHeaderLen)
		}
		// A segment created just before a crash: its header never became
		// durable, so it cannot hold a record anyone points at.
		return s.resetSegment(f, sf, path, writable)
	}
	hdr, err := sc.read(SegmentHeaderLen, 0)
	if err != nil {
		return nil, fmt.Errorf("vlog: %w", err)
	}
	switch problem, reason := checkSegmentHeader(hdr, sf.num); problem {
	case headerOK:
	case headerNewVersion:
		return nil, fmt.Errorf("vlog: %s: %w: %s", path, iface.ErrIncompatible, reason)
	case headerZero:
		zero, err := sc.zeroTail(0)
		if err != nil {
			return nil, err
		}
		if !newest || !zero {
			return nil, iface.Corruptf(path, 0, "%s", reason)
		}
		return s.resetSegment(f, sf, path, writable)
	default:
		return nil, iface.Corruptf(path, 0, "%s", reason)
	}
	if !newest {
		return newSegment(s, sf.num, path, f, size), nil
	}
	sc.off = SegmentHeaderLen
	end := size
	for {
		_, _, err := sc.next()
		if err == nil {
			continue
		}
		if err == io.EOF {
			break
		}
		var torn *tornError
		if !errors.As(err, &torn) {
			return nil, fmt.Errorf("vlog: %w", err)
		}
		end = torn.offset
		if writable {
			if err := f.Truncate(end); err != nil {
				return nil, fmt.Errorf("vlog: trim torn tail of %s at %d: %w", path, end, err)
			}
			s.stats.tornTails.Add(1)
		}
		break
	}
	if writable {
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("vlog: sync %s: %w", path, err)
		}
		s.stats.syncs.Add(1)
	}
	return newSegment(s, sf.num, path, f, end), nil
}

// isHeaderPrefix reports whether the size bytes of a short file are a prefix
// of the header segment num would get: a header cut short by a crash.
func isHeaderPrefix(sc *scanner, size int64, num uint32) bool {
	b, err := sc.read(int(size), 0)
	if err != nil {
		return false
	}
	want := appendSegmentHeader(nil, num)
	return string(b) == string(want[:size])
}

// resetSegment rewrites the header of the newest segment, whose header a
// crash cut short (read-only: treats it as empty).
func (s *Store) resetSegment(f vfs.File, sf segmentFile, path string, writable bool) (*segment, error) {
	if writable {
		if err := f.Truncate(0); err != nil {
			return nil, fmt.Errorf("vlog: reset %s: %w", path, err)
		}
		if _, err := f.Write(appendSegmentHeader(nil, sf.num)); err != nil {
			return nil, fmt.Errorf("vlog: reset %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("vlog: sync %s: %w", path, err)
		}
		s.stats.syncs.Add(1)
		s.stats.tornTails.Add(1)
	}
	return newSegment(s, sf.num, path, f, SegmentHeaderLen), nil
}

// createSegment creates segment num, writes its header and makes both the
// header and the directory entry durable before any record goes in.
func (s *Store) createSegment(num uint32) (*segment, error) {
	path := s.path(segmentName(num))
	f, err := s.fs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("vlog: create %s: %w", path, err)
	}
	fail := func(what string, err error) (*segment, error) {
		f.Close()
		return nil, fmt.Errorf("vlog: %s %s: %w", what, path, err)
	}
	if _, err := f.Write(appendSegmentHeader(nil, num)); err != nil {
		return fail("write header of", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	s.stats.syncs.Add(1)
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fail("sync directory of", err)
	}
	return newSegment(s, num, path, f, SegmentHeaderLen), nil
}
