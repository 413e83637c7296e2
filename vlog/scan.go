package vlog

import (
	"errors"
	"fmt"
	"io"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// scanBufSize is the read-ahead window of a scanner: sequential scans cost
// one ReadAt per window rather than two per record.
const scanBufSize = 256 << 10

// tornError reports a torn tail: the segment's records are good up to
// offset, and what follows is the remains of an interrupted append.
type tornError struct {
	offset int64
	reason string
}

func (e *tornError) Error() string {
	return fmt.Sprintf("torn tail at offset %d: %s", e.offset, e.reason)
}

// scanner reads the records of one segment in order, telling a clean end
// (io.EOF), a torn tail (*tornError) and damage (*iface.CorruptionError)
// apart, the same way package internal/record does for the log:
//
//   - a partial header, a header that runs to the end of the file but whose
//     record does not fit, or a last record that fails its checksum and ends
//     exactly at the end of the file is a torn tail;
//   - so is a header that fails its checksum when every byte from there to
//     the end of the file is zero (a file system that extended the file but
//     never wrote the data);
//   - anything else that fails a check, with bytes after it, is damage.
//
// Thanks to the header checksum, a damaged length is never taken for a torn
// tail: a length that checks out is the length that was written.
type scanner struct {
	f    vfs.File
	path string
	size int64 // the end of the records
	off  int64 // the next record's offset

	buf    []byte // read-ahead window
	bufOff int64
	bufN   int
	big    []byte // records larger than the window
}

// newScanner scans f from start to size. name is used in errors.
func newScanner(f vfs.File, path string, start, size int64) *scanner {
	return &scanner{f: f, path: path, off: start, size: size}
}

// read returns n bytes at off (n <= size-off). The slice is valid until the
// next call.
func (sc *scanner) read(n int, off int64) ([]byte, error) {
	if off >= sc.bufOff && off+int64(n) <= sc.bufOff+int64(sc.bufN) {
		return sc.buf[off-sc.bufOff : off-sc.bufOff+int64(n)], nil
	}
	if sc.buf == nil {
		sc.buf = make([]byte, scanBufSize)
	}
	var p []byte
	if n > len(sc.buf) {
		if cap(sc.big) < n {
			sc.big = make([]byte, n)
		}
		p = sc.big[:n]
	} else {
		sc.bufOff, sc.bufN = off, 0
		p = sc.buf[:min(int64(len(sc.buf)), sc.size-off)]
	}
	got, err := sc.f.ReadAt(p, off)
	if got < n || (err != nil && !errors.Is(err, io.EOF)) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %s at %d: %w", sc.path, off, err)
	}
	if n > len(sc.buf) {
		return p, nil
	}
	sc.bufN = got
	return sc.buf[:n], nil
}

// next returns the next record and its offset. The record's slices are valid
// until the next call.
func (sc *scanner) next() (decodedRecord, int64, error) {
	off := sc.off
	remain := sc.size - off
	switch {
	case remain == 0:
		return decodedRecord{}, off, io.EOF
	case remain < 0:
		return decodedRecord{}, off, iface.Corruptf(sc.path, off, "read position is past the end of the records (%d)", sc.size)
	case remain < RecordHeaderLen:
		return decodedRecord{}, off, &tornError{off, fmt.Sprintf("partial record header (%d bytes left)", remain)}
	}
	hdr, err := sc.read(RecordHeaderLen, off)
	if err != nil {
		return decodedRecord{}, off, err
	}
	h, reason, ok := decodeRecordHeader(hdr)
	if !ok {
		zero, err := sc.zeroTail(off)
		if err != nil {
			return decodedRecord{}, off, err
		}
		if zero {
			return decodedRecord{}, off, &tornError{off, "zero-filled tail"}
		}
		return decodedRecord{}, off, iface.Corruptf(sc.path, off, "%s", reason)
	}
	total := h.total()
	if total > remain {
		return decodedRecord{}, off, &tornError{off, fmt.Sprintf("record of %d bytes runs past the end of the file (%d bytes left)", total, remain)}
	}
	b, err := sc.read(int(total), off)
	if err != nil {
		return decodedRecord{}, off, err
	}
	r, reason, ok := decodeRecord(b)
	if !ok {
		if total == remain {
			return decodedRecord{}, off, &tornError{off, "last record: " + reason}
		}
		return decodedRecord{}, off, iface.Corruptf(sc.path, off, "%s", reason)
	}
	sc.off = off + total
	return r, off, nil
}

// zeroTail reports whether every byte from off to the end is zero.
func (sc *scanner) zeroTail(off int64) (bool, error) {
	for off < sc.size {
		n := min(int64(scanBufSize), sc.size-off)
		b, err := sc.read(int(n), off)
		if err != nil {
			return false, err
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		off += n
	}
	return true, nil
}
