package vlog

import (
	"fmt"
	"math"

	"github.com/nokv/nokv/iface"
)

// maxKeptBuffer bounds the batch buffer kept between writes, so that one
// huge batch does not pin its memory for the life of the store.
const maxKeptBuffer = 4 << 20

// separated reports whether Write stores e's value in the log.
func (s *Store) separated(e *iface.Entry) bool {
	return e.Kind.Base() == iface.KindSet && len(e.Value) >= s.opts.Threshold
}

// Write appends the value of every entry that is a KindSet of at least
// Threshold bytes to the active segment, then sets its Kind to KindPointer
// (keeping the expiry flag, if set) and its Value to the encoded
// iface.ValuePtr. Smaller values, tombstones and entries already holding a
// pointer are left alone. The pointers of one call share one allocation
// owned by the caller from then on.
//
// The records of a batch go to the file in one write call (two or more only
// when the batch crosses into a new segment), so once Write returns they
// survive a crash of the process; they survive a power loss after Sync.
// On error no entry is changed. A failed write or fsync is sticky: every
// later Write and Sync returns it, since a partial record may sit at the end
// of the segment (a reopen trims it).
func (s *Store) Write(entries []iface.Entry) error {
	n := 0
	for i := range entries {
		e := &entries[i]
		if !s.separated(e) {
			continue
		}
		if len(e.Value) > MaxValueLen || len(e.Key) > MaxKeyLen {
			return fmt.Errorf("vlog: %w: key of %d bytes with value of %d bytes exceeds the limits (%d, %d)",
				iface.ErrInvalidArgument, len(e.Key), len(e.Value), MaxKeyLen, MaxValueLen)
		}
		n++
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	arena := make([]byte, 0, n*iface.ValuePtrLen)
	buf := s.buf[:0]
	for i := range entries {
		e := &entries[i]
		if !s.separated(e) {
			continue
		}
		recLen := recordLen(len(e.Key), len(e.Value))
		end := s.activeSize + int64(len(buf))
		if end+int64(recLen) > s.opts.SegmentSize && end > SegmentHeaderLen {
			if err := s.writeBuf(buf); err != nil {
				return err
			}
			buf = buf[:0]
			if err := s.rotate(); err != nil {
				return err
			}
		}
		off := s.activeSize + int64(len(buf))
		buf = appendRecord(buf, e.Key, e.Value, e.Version, e.ExpiresAt)
		arena = iface.ValuePtr{Segment: s.active.num, Offset: uint32(off), Len: uint32(recLen)}.Encode(arena)
	}
	if err := s.writeBuf(buf); err != nil {
		return err
	}
	if cap(buf) <= maxKeptBuffer {
		s.buf = buf[:0]
	} else {
		s.buf = nil
	}
	s.stats.records.Add(int64(n))
	k := 0
	for i := range entries {
		e := &entries[i]
		if !s.separated(e) {
			continue
		}
		e.Kind = iface.KindPointer | e.Kind&iface.KindFlagExpires
		e.Value = arena[k : k+iface.ValuePtrLen : k+iface.ValuePtrLen]
		k += iface.ValuePtrLen
	}
	return nil
}

// writeBuf appends buf to the active segment in one write and publishes the
// new end to readers.
func (s *Store) writeBuf(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	nw, err := s.active.f.Write(buf)
	if err != nil {
		s.err = fmt.Errorf("vlog: write %s: %w", s.active.path, err)
		return s.err
	}
	s.activeSize += int64(nw)
	s.unsynced = true
	s.active.size.Store(s.activeSize)
	s.stats.bytesWritten.Add(int64(nw))
	return nil
}

// rotate seals the active segment (fsyncs it, keeping the handle open for
// reads) and starts the next one. So every segment but the newest is durable
// in full, and only the newest can end in a torn tail after a crash.
func (s *Store) rotate() error {
	old := s.active
	if s.unsynced {
		if err := old.f.Sync(); err != nil {
			s.err = fmt.Errorf("vlog: sync %s: %w", old.path, err)
			s.untrusted = true // Close drops the unsynced tail
			return s.err
		}
		s.unsynced = false
		s.stats.syncs.Add(1)
	}
	if old.num == math.MaxUint32 {
		s.err = fmt.Errorf("vlog: segment numbers exhausted")
		return s.err
	}
	seg, err := s.createSegment(old.num + 1)
	if err != nil {
		// A partly made segment may be left behind; a reopen repairs it,
		// but this store must not write past it.
		s.err = err
		return err
	}
	s.segMu.Lock()
	s.segs[seg.num] = seg
	s.segMu.Unlock()
	s.activeNum.Store(seg.num)
	s.headSeg.Store(seg)
	s.active, s.activeSize, s.syncedSize = seg, SegmentHeaderLen, SegmentHeaderLen
	return nil
}

// Sync fsyncs the active segment, making every value written before the call
// durable (sealed segments were fsynced when they were sealed). Call it
// before syncing the log records that point at the values. A failed fsync is
// sticky: the kernel may have dropped the unsynced pages, so a retry could
// not be trusted.
func (s *Store) Sync() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if !s.unsynced {
		return nil
	}
	if err := s.active.f.Sync(); err != nil {
		s.err = fmt.Errorf("vlog: sync %s: %w", s.active.path, err)
		s.untrusted = true // Close drops the unsynced tail
		return s.err
	}
	s.syncedSize = s.activeSize
	s.unsynced = false
	s.stats.syncs.Add(1)
	return nil
}
