package vlog

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nokv/nokv/iface"
)

// acquire finds segment num and takes a reference on it. The caller must
// unref it.
func (s *Store) acquire(num uint32) (*segment, bool, error) {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	if s.closed.Load() {
		return nil, false, iface.ErrClosed
	}
	seg := s.segs[num]
	if seg == nil {
		return nil, false, nil
	}
	seg.refs.Add(1)
	return seg, true, nil
}

// Read appends to dst the value ptr locates and returns the result. It
// serves the value from the read cache (Options.CacheSize) if it is there;
// else it reads the whole record with one positioned read (ReadAt: no seek,
// no lock, so reads run in parallel), checks its bounds and both checksums,
// and caches the value. It fails with an *iface.CorruptionError naming the segment
// file and the offset when any check fails or the segment does not exist.
// On error it returns dst unchanged. Read may be called concurrently with
// everything; a Read that found its segment finishes even if the segment is
// removed meanwhile.
func (s *Store) Read(ptr iface.ValuePtr, dst []byte) ([]byte, error) {
	seg, ok, err := s.acquire(ptr.Segment)
	if err != nil {
		return dst, err
	}
	if !ok {
		return dst, s.errSegmentMissing(ptr)
	}
	defer seg.unref()
	if err := seg.checkPtr(ptr); err != nil {
		return dst, err
	}
	key := cacheKey(ptr.Segment, ptr.Offset)
	if out, ok := s.cache.get(key, dst); ok {
		s.stats.reads.Add(1)
		return out, nil
	}
	start := len(dst)
	grown := slices.Grow(dst, int(ptr.Len))
	rec, err := seg.readRecord(ptr, grown[start:start])
	if err != nil {
		return dst, err
	}
	s.stats.reads.Add(1)
	dst = grown[:start+len(rec.value)]
	copy(dst[start:], rec.value) // rec.value lies later in the same array
	s.cache.add(key, dst[start:])
	return dst, nil
}

// checkPtr fails unless ptr addresses a plausible record inside the
// segment's records.
func (seg *segment) checkPtr(ptr iface.ValuePtr) error {
	off, n := int64(ptr.Offset), int64(ptr.Len)
	if size := seg.size.Load(); off < SegmentHeaderLen || n < RecordOverhead || off+n > size {
		return iface.Corruptf(seg.path, off,
			"value pointer (offset %d, length %d) is outside the records of the segment (%d to %d)",
			off, n, SegmentHeaderLen, size)
	}
	if n > MaxValueLen+MaxKeyLen+RecordOverhead {
		return iface.Corruptf(seg.path, off, "value pointer length %d exceeds the largest record", n)
	}
	return nil
}

// readRecord reads and decodes the record ptr addresses into buf's spare
// capacity (buf has length 0), allocating if it is too small.
func (seg *segment) readRecord(ptr iface.ValuePtr, buf []byte) (decodedRecord, error) {
	if err := seg.checkPtr(ptr); err != nil {
		return decodedRecord{}, err
	}
	off, n := int64(ptr.Offset), int64(ptr.Len)
	buf = slices.Grow(buf[:0], int(n))[:n]
	got, err := seg.f.ReadAt(buf, off)
	if err != nil && !(errors.Is(err, io.EOF) && got == len(buf)) {
		return decodedRecord{}, fmt.Errorf("vlog: read %s at %d: %w", seg.path, off, err)
	}
	rec, reason, ok := decodeRecord(buf)
	if !ok {
		return decodedRecord{}, iface.Corruptf(seg.path, off, "%s", reason)
	}
	return rec, nil
}

// Contains reports whether ptr lies within the records the store holds: its
// segment exists and the record ends at or before the segment's end. It
// reads nothing and checks no checksum. The engine's log replay uses it: a
// log record written without sync may have survived a power loss whose
// value-log tail did not (Open trimmed it), and such a record, and every
// later one, was never acknowledged as durable, so replay stops there.
func (s *Store) Contains(ptr iface.ValuePtr) bool {
	seg, ok, err := s.acquire(ptr.Segment)
	if err != nil || !ok {
		return false
	}
	defer seg.unref()
	return seg.checkPtr(ptr) == nil
}
