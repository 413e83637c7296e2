package vlog

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
)

// SegmentInfo describes one segment for GC and for `nokv vlog`.
type SegmentInfo struct {
	Number   uint32
	Size     int64   // bytes in the file, header included
	Discard  int64   // garbage bytes recorded by AddDiscard
	Ratio    float64 // Discard / record bytes (Size minus the header); 0 for an empty segment
	Active   bool    // the segment Write appends to; never collected
	Removing bool    // RemoveSegment was called; the file goes when the last pin and reader leave
}

// Segments lists the segments, ascending by number.
func (s *Store) Segments() []SegmentInfo {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	active := s.activeNum.Load()
	out := make([]SegmentInfo, 0, len(s.segs))
	s.disc.mu.Lock()
	for num, seg := range s.segs {
		si := SegmentInfo{
			Number:   num,
			Size:     seg.size.Load(),
			Discard:  s.disc.bytes[num],
			Active:   num == active && !s.readOnly,
			Removing: seg.doomed.Load(),
		}
		if recs := si.Size - SegmentHeaderLen; recs > 0 {
			si.Ratio = float64(si.Discard) / float64(recs)
		}
		out = append(out, si)
	}
	s.disc.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// PickForGC returns the segment GC should rewrite next: among the sealed
// segments numbered below `below` whose garbage ratio is at least minRatio
// (and whose garbage is not zero), the one with the most garbage bytes
// (the lowest number on a tie). The active segment is never picked, nor a
// segment being removed. ok is false when no segment qualifies.
//
// below is the engine's GC horizon: the segment of the value-log head
// recorded with its last flush. Segments at or above it may hold values
// whose pointers are only in the write-ahead log, which a restart would
// replay; rewriting and removing such a segment would leave the replayed
// pointers dangling. Pass Head().Segment to consider every sealed segment.
func (s *Store) PickForGC(minRatio float64, below uint32) (seg uint32, ok bool) {
	var best SegmentInfo
	for _, si := range s.Segments() {
		if si.Active || si.Removing || si.Number >= below || si.Discard <= 0 || si.Ratio < minRatio {
			continue
		}
		if !ok || si.Discard > best.Discard {
			best, ok = si, true
		}
	}
	return best.Number, ok
}

// IterateSegment calls fn for every record of segment seg in order, with
// the record's key, version and expiry (so the caller can rebuild the
// internal key iface.MakeKey(key, version) and look up whether the pointer
// is still live), its pointer and its value. The slices are valid only
// during the call. It reads up to the segment's end at the time of the call
// (the active segment may be iterated too). Damage is an
// *iface.CorruptionError; an error from fn stops the iteration and is
// returned as it is. The segment stays readable during the call even if it
// is removed meanwhile.
func (s *Store) IterateSegment(seg uint32, fn func(key []byte, version, expiresAt uint64, ptr iface.ValuePtr, value []byte) error) error {
	sg, ok, err := s.acquire(seg)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("vlog: segment %d: %w", seg, iface.ErrNotFound)
	}
	defer sg.unref()
	sc := newScanner(sg.f, sg.path, SegmentHeaderLen, sg.size.Load())
	for {
		r, off, err := sc.next()
		if err == io.EOF {
			return nil
		}
		var torn *tornError
		if errors.As(err, &torn) {
			return iface.Corruptf(sg.path, torn.offset, "%s", torn.reason)
		}
		if err != nil {
			return err
		}
		ptr := iface.ValuePtr{Segment: seg, Offset: uint32(off), Len: uint32(sc.off - off)}
		if err := fn(r.key, r.version, r.expiresAt, ptr, r.value); err != nil {
			return err
		}
	}
}

// RemoveSegment removes a sealed segment after GC rewrote its live values.
// The removal happens in two steps, so that nothing that could still reach
// the segment fails:
//
//  1. The segment is marked; it stays readable while any Pin taken before
//     this call is held.
//  2. Then it is dropped from the store (a later Read of it fails), and its
//     file is closed and deleted (with a directory fsync) when the last Read
//     or IterateSegment using it returns.
//
// It returns once the segment is marked; Segments shows it as Removing until
// it is dropped. Removing the active segment is an error
// (iface.ErrInvalidArgument), an unknown one iface.ErrNotFound, a second
// removal of the same segment does nothing. Safe for concurrent use.
func (s *Store) RemoveSegment(seg uint32) error {
	if s.closed.Load() {
		return iface.ErrClosed
	}
	if s.readOnly {
		return fmt.Errorf("vlog: %w: store opened read-only", iface.ErrInvalidArgument)
	}
	if seg >= s.activeNum.Load() {
		return fmt.Errorf("vlog: %w: segment %d is not sealed (active segment %d)", iface.ErrInvalidArgument, seg, s.activeNum.Load())
	}
	s.segMu.RLock()
	sg := s.segs[seg]
	s.segMu.RUnlock()
	if sg == nil {
		return fmt.Errorf("vlog: segment %d: %w", seg, iface.ErrNotFound)
	}
	if sg.doomed.Swap(true) {
		return nil
	}
	s.disc.forget(seg)
	p := &s.pins
	p.mu.Lock()
	sg.doomEpoch = p.epoch
	p.epoch++
	p.doomed = append(p.doomed, sg)
	retire := s.reapLocked()
	p.mu.Unlock()
	s.retire(retire)
	return nil
}

// pinTable tracks pins by epoch. The epoch advances with every RemoveSegment;
// a segment removed in epoch e is dropped once no pin of an epoch <= e is
// held.
type pinTable struct {
	mu     sync.Mutex
	epoch  uint64
	live   map[uint64]int // epoch -> pins held
	doomed []*segment     // removed, waiting for older pins
}

func (p *pinTable) init() { p.live = map[uint64]int{} }

// Pin keeps every segment that exists now readable until release is called,
// even if RemoveSegment removes it meanwhile. The engine takes a pin with
// each read state (an iterator, a snapshot, a Get) before it looks up the
// pointers it will read, so GC never pulls a segment from under a reader
// that found an old pointer. release must be called once; later calls do
// nothing. Pins are cheap (a mutex and a map update) and safe for
// concurrent use.
func (s *Store) Pin() (release func()) {
	p := &s.pins
	p.mu.Lock()
	e := p.epoch
	p.live[e]++
	p.mu.Unlock()
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		p.mu.Lock()
		if p.live[e]--; p.live[e] == 0 {
			delete(p.live, e)
		}
		retire := s.reapLocked()
		p.mu.Unlock()
		s.retire(retire)
	}
}

// reapLocked takes from the doomed list the segments no held pin can reach
// and returns them for retire. pins.mu must be held.
func (s *Store) reapLocked() []*segment {
	p := &s.pins
	if len(p.doomed) == 0 {
		return nil
	}
	oldest, any := uint64(0), false
	for e := range p.live {
		if !any || e < oldest {
			oldest, any = e, true
		}
	}
	var out []*segment
	keep := p.doomed[:0]
	for _, seg := range p.doomed {
		if any && oldest <= seg.doomEpoch {
			keep = append(keep, seg)
		} else {
			out = append(out, seg)
		}
	}
	clear(p.doomed[len(keep):])
	p.doomed = keep
	return out
}

// retire drops doomed segments from the store and releases the store's
// reference on each; the last reference deletes the file.
func (s *Store) retire(segs []*segment) {
	if len(segs) == 0 {
		return
	}
	dropped := segs[:0]
	s.segMu.Lock()
	for _, seg := range segs {
		// Close may have dropped it (and the store's reference) already.
		if s.segs[seg.num] == seg {
			delete(s.segs, seg.num)
			dropped = append(dropped, seg)
		}
	}
	s.segMu.Unlock()
	for _, seg := range dropped {
		seg.unref()
	}
}
