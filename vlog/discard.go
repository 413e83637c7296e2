package vlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math"
	"sort"
	"sync"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// Names of the discard statistics file and of its temporary twin.
const (
	discardName    = "DISCARD"
	discardTmpName = "DISCARD.tmp"
)

// discardMagic opens the DISCARD file.
var discardMagic = [4]byte{'N', 'K', 'V', 'D'}

// maxDiscardEntries bounds the entry count a DISCARD file may claim.
const maxDiscardEntries = 1 << 24

// discardStats holds the garbage bytes per segment and persists them.
type discardStats struct {
	s *Store

	mu        sync.Mutex
	bytes     map[uint32]int64
	gen       uint64 // bumped by every change
	persisted uint64 // gen as of the last successful rewrite of DISCARD
	err       error  // the last rewrite's failure, nil once one succeeds

	persistMu sync.Mutex // serializes rewrites
}

func (d *discardStats) init(s *Store) {
	d.s = s
	d.bytes = map[uint32]int64{}
}

// AddDiscard adds bytes of garbage per segment, as flush and compaction
// report them (whole record lengths, as ValuePtr.Len gives them). Segments
// the store does not hold (removed already) are ignored, and a segment's
// total is capped at its record bytes. Every Options.DiscardPersistEvery
// calls that changed something, the statistics are rewritten to the DISCARD
// file in the calling goroutine (the engine calls from its flush and
// compaction goroutines, off the commit path); a failed rewrite is retried
// by the next one and returned by PersistDiscard and Close. Safe for
// concurrent use.
func (s *Store) AddDiscard(bytesPerSegment map[uint32]int64) {
	if len(bytesPerSegment) == 0 || s.readOnly || s.closed.Load() {
		return
	}
	d := &s.disc
	s.segMu.RLock()
	d.mu.Lock()
	changed := false
	for num, b := range bytesPerSegment {
		seg := s.segs[num]
		if b <= 0 || seg == nil || seg.doomed.Load() {
			continue
		}
		limit := seg.size.Load() - SegmentHeaderLen
		cur := d.bytes[num]
		next := min(cur+b, limit)
		if next != cur {
			d.bytes[num] = next
			changed = true
		}
	}
	if changed {
		d.gen++
	}
	every := s.opts.DiscardPersistEvery
	due := changed && every > 0 && d.gen-d.persisted >= uint64(every)
	d.mu.Unlock()
	s.segMu.RUnlock()
	if due {
		// A failure is kept in d.err; PersistDiscard and Close return it.
		_ = d.persist()
	}
}

// PersistDiscard rewrites the DISCARD file now if the statistics changed
// since the last rewrite, and returns the error of the last rewrite.
func (s *Store) PersistDiscard() error {
	if s.closed.Load() {
		return iface.ErrClosed
	}
	if s.readOnly {
		return nil
	}
	return s.disc.persist()
}

// forget drops the statistics of a removed segment.
func (d *discardStats) forget(num uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.bytes[num]; ok {
		delete(d.bytes, num)
		d.gen++
	}
}

// persist rewrites DISCARD atomically if the statistics changed: it writes
// DISCARD.tmp, fsyncs it, renames it over DISCARD and fsyncs the directory.
// After a crash either the old or the new file is found, never a mixture.
func (d *discardStats) persist() error {
	d.persistMu.Lock()
	defer d.persistMu.Unlock()
	d.mu.Lock()
	if d.gen == d.persisted {
		d.mu.Unlock()
		return nil
	}
	gen := d.gen
	buf := encodeDiscard(d.bytes)
	d.mu.Unlock()

	err := d.write(buf)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.err = fmt.Errorf("vlog: persist discard statistics: %w", err)
		return d.err
	}
	d.persisted, d.err = gen, nil
	return nil
}

func (d *discardStats) write(buf []byte) error {
	s := d.s
	tmp := s.path(discardTmpName)
	f, err := s.fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.fs.Rename(tmp, s.path(discardName))
	}
	if err != nil {
		_ = s.fs.Remove(tmp) // best effort: Open removes a leftover
		return err
	}
	return s.fs.SyncDir(s.dir)
}

// load reads DISCARD, keeping the entries of segments the store holds.
// A missing file means no statistics; a damaged one is an error.
func (d *discardStats) load() error {
	s := d.s
	m, err := readDiscard(s.fs, s.path(discardName))
	if err != nil {
		return err
	}
	for num, b := range m {
		if seg := s.segs[num]; seg != nil {
			d.bytes[num] = min(b, seg.size.Load()-SegmentHeaderLen)
		}
	}
	return nil
}

// The DISCARD file, all integers little-endian:
//
//	+-----------+-------------+-----------+------------------------------+------------+
//	| magic (4) | version (4) | count (4) | count x (segment 4, bytes 8) | crc32c (4) |
//	+-----------+-------------+-----------+------------------------------+------------+
func encodeDiscard(m map[uint32]int64) []byte {
	nums := make([]uint32, 0, len(m))
	for num := range m {
		nums = append(nums, num)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	buf := make([]byte, 0, 16+12*len(nums))
	buf = append(buf, discardMagic[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, FormatVersion)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(nums)))
	for _, num := range nums {
		buf = binary.LittleEndian.AppendUint32(buf, num)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(m[num]))
	}
	return binary.LittleEndian.AppendUint32(buf, record.Checksum(buf))
}

// readDiscard reads and checks a DISCARD file; a missing file gives nil.
// Damage is an *iface.CorruptionError; the statistics only steer GC, so the
// message says the file may be deleted to start them afresh.
func readDiscard(fsys vfs.FS, path string) (map[uint32]int64, error) {
	f, err := fsys.Open(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vlog: open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("vlog: size of %s: %w", path, err)
	}
	if size > 16+12*maxDiscardEntries {
		return nil, discardCorrupt(path, fmt.Sprintf("file of %d bytes is larger than any DISCARD file", size))
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		return nil, fmt.Errorf("vlog: read %s: %w", path, err)
	}
	m, reason := decodeDiscard(buf)
	if reason != "" {
		return nil, discardCorrupt(path, reason)
	}
	return m, nil
}

func discardCorrupt(path, reason string) error {
	return iface.Corruptf(path, 0, "%s (the file only steers garbage collection: deleting it resets the statistics)", reason)
}

// decodeDiscard parses a DISCARD file; a non-empty reason says why it failed.
func decodeDiscard(buf []byte) (map[uint32]int64, string) {
	if len(buf) < 16 {
		return nil, fmt.Sprintf("file of %d bytes is shorter than the 16-byte minimum", len(buf))
	}
	if [4]byte(buf[:4]) != discardMagic {
		return nil, fmt.Sprintf("bad magic %x, want %x", buf[:4], discardMagic[:])
	}
	body := len(buf) - 4
	if got, want := record.Checksum(buf[:body]), binary.LittleEndian.Uint32(buf[body:]); got != want {
		return nil, fmt.Sprintf("checksum mismatch: crc32c %08x, stored %08x", got, want)
	}
	if v := binary.LittleEndian.Uint32(buf[4:]); v != FormatVersion {
		return nil, fmt.Sprintf("format version %d, this build reads %d", v, FormatVersion)
	}
	count := int64(binary.LittleEndian.Uint32(buf[8:]))
	if 16+12*count != int64(len(buf)) {
		return nil, fmt.Sprintf("%d entries do not fit a file of %d bytes", count, len(buf))
	}
	m := make(map[uint32]int64, count)
	for p := buf[12:body]; len(p) > 0; p = p[12:] {
		num, b := binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint64(p[4:])
		if b > math.MaxInt64 {
			return nil, fmt.Sprintf("segment %d has %d discard bytes", num, b)
		}
		m[num] = int64(b)
	}
	return m, ""
}
