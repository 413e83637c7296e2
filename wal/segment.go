package wal

import (
	"errors"
	"io"
	"path/filepath"
	"sort"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/filenum"
	"github.com/nokv/nokv/vfs"
)

// segmentExt is the suffix of segment file names.
const segmentExt = ".wal"

// segment is one segment file found in, or added to, the directory. The name
// is kept as found, since segments of any digit width are accepted.
type segment struct {
	num  uint64
	name string
}

// segmentName returns the name of a new segment file: the zero-padded number.
func segmentName(num uint64) string { return filenum.Format(num, 8, segmentExt) }

// parseSegmentName returns the number of a segment file name, or false if
// the name is not one (<digits>.wal).
func parseSegmentName(name string) (uint64, bool) { return filenum.Parse(name, segmentExt) }

// listSegments returns the segments in dir, ascending by number. Two files
// with the same number ("7.wal" and "00000007.wal") are corruption: which one
// holds the records cannot be told.
func listSegments(fs vfs.FS, dir string) ([]segment, error) {
	names, err := fs.List(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, name := range names {
		if num, ok := parseSegmentName(name); ok {
			segs = append(segs, segment{num: num, name: name})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].num < segs[j].num })
	for i := 1; i < len(segs); i++ {
		if segs[i].num == segs[i-1].num {
			return nil, iface.Corruptf(filepath.Join(dir, segs[i].name), -1,
				"segment number %d is also used by %s", segs[i].num, segs[i-1].name)
		}
	}
	return segs, nil
}

// readahead serves the small sequential ReadAt calls of a record.Reader from
// one large buffer, so reading a segment costs a system call per window
// rather than two per record.
type readahead struct {
	vfs.File
	buf []byte
	off int64 // file offset of buf[0]
	n   int   // valid bytes in buf
}

const readaheadSize = 256 << 10

func newReadahead(f vfs.File, buf []byte) *readahead {
	if len(buf) < readaheadSize {
		buf = make([]byte, readaheadSize)
	}
	return &readahead{File: f, buf: buf}
}

// ReadAt implements vfs.File.
func (r *readahead) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.off && off+int64(len(p)) <= r.off+int64(r.n) {
		return copy(p, r.buf[off-r.off:r.n]), nil
	}
	if len(p) >= len(r.buf) {
		return r.File.ReadAt(p, off)
	}
	n, err := r.File.ReadAt(r.buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		r.n = 0
		return 0, err
	}
	r.off, r.n = off, n
	c := copy(p, r.buf[:n])
	if c < len(p) {
		return c, io.EOF
	}
	return c, nil
}
