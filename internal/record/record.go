// Package record frames the records of NoKV's append-only files (the
// write-ahead log and the manifest). A record is
//
//	+----------------+---------------------+------------------+----------------------------+
//	| length (4, LE) | crc32c(length) (4)  | payload (length) | crc32c(header ++ payload) (4)|
//	+----------------+---------------------+------------------+----------------------------+
//
// The length has a checksum of its own, so a damaged length is told apart
// from a record that was cut short by a crash: a length that checks out but
// runs past the end of the file is a torn tail; a length that fails its
// check is damage. (Without it, a flipped bit that makes a length huge would
// look like a torn tail, and truncating there would drop good records.)
//
// A reader tells three endings apart: a clean end of file; a torn tail (the
// last record is partial: it runs past the end of the file, or it is complete
// but fails its checksum and ends exactly at the end of the file or only
// zeros follow it, or its header fails its check and only zeros follow the
// first TornSpan bytes, or the rest of the file is zero bytes), which a
// crash during an append leaves behind and
// the owner may truncate; and corruption (a record fails its checksum with
// more bytes after it), which is never repaired silently.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// HeaderLen and TrailerLen are the framing overheads of a record.
const (
	// TornSpan is the granularity at which a writer into preallocated,
	// zeroed space (a mapped log segment) must copy a record: chunk by
	// chunk, in ascending order (CopyInOrder). A process killed mid-copy
	// then leaves the record's chunks before some point, a part of one
	// chunk in any order (memmove may store a chunk's tail first), and
	// zeros. So a record whose header fails its check while every byte
	// from TornSpan past its start is zero, or whose checksum fails while
	// every byte after its end is zero, is a torn tail, not damage.
	TornSpan   = 64
	HeaderLen  = 8
	TrailerLen = 4
	// MaxPayload bounds a record's payload; a larger length is damage.
	MaxPayload = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC32C of b.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Append appends the framed record for payload to dst and returns it.
func Append(dst, payload []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:start+4], castagnoli))
	dst = append(dst, payload...)
	crc := crc32.Checksum(dst[start:], castagnoli)
	return binary.LittleEndian.AppendUint32(dst, crc)
}

// CopyInOrder copies src into dst TornSpan bytes at a time, in ascending
// order, and returns the bytes copied (as copy does). See TornSpan.
func CopyInOrder(dst, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i += TornSpan {
		copy(dst[i:n], src[i:min(i+TornSpan, n)])
	}
	return n
}

// Size returns the framed size of a payload of n bytes.
func Size(n int) int { return HeaderLen + n + TrailerLen }

// TornError reports a torn tail: the file's records are good up to Offset,
// and what follows is the remains of an interrupted append.
type TornError struct {
	File   string
	Offset int64
	Reason string
	// Zero: every byte from Offset to the end of the file is zero. That is
	// what space allocated ahead of the records (a preallocated, mapped log
	// segment) looks like when the writer stops without trimming it.
	Zero bool
}

func (e *TornError) Error() string {
	return fmt.Sprintf("torn tail in %s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// ErrTorn matches any *TornError with errors.Is.
var ErrTorn = errors.New("record: torn tail")

// Is makes errors.Is(err, ErrTorn) true.
func (e *TornError) Is(target error) bool { return target == ErrTorn }

// Reader reads the records of one file in order.
type Reader struct {
	f    vfs.File
	name string
	size int64
	off  int64
	buf  []byte
}

// NewReader reads f (size bytes long) from offset start. name is used in
// errors.
func NewReader(f vfs.File, name string, size, start int64) *Reader {
	return &Reader{f: f, name: name, size: size, off: start}
}

// Offset returns the offset of the next record: after a successful Next, the
// end of the record it returned.
func (r *Reader) Offset() int64 { return r.off }

// Next returns the next record's payload and its offset. The payload is valid
// until the next call. At a clean end it returns io.EOF; at a torn tail a
// *TornError; on damage a *iface.CorruptionError (also when the reader was
// started past the end of the file). A short read is an error, never a record.
func (r *Reader) Next() (payload []byte, offset int64, err error) {
	off := r.off
	remain := r.size - off
	if remain == 0 {
		return nil, off, io.EOF
	}
	if remain < 0 {
		return nil, off, iface.Corruptf(r.name, off, "read position is past the end of the file (%d bytes)", r.size)
	}
	if remain < HeaderLen+TrailerLen {
		if z, err := r.zeroTail(off); err != nil {
			return nil, off, err
		} else if z {
			return nil, off, &TornError{File: r.name, Offset: off, Reason: "zero-filled tail", Zero: true}
		}
		return nil, off, &TornError{File: r.name, Offset: off, Reason: fmt.Sprintf("partial record header (%d bytes left)", remain)}
	}
	var hdr [HeaderLen]byte
	if n, err := r.f.ReadAt(hdr[:], off); err != nil && !(errors.Is(err, io.EOF) && n == len(hdr)) {
		return nil, off, fmt.Errorf("read %s at %d: %w", r.name, off, err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[:]))
	if got, want := crc32.Checksum(hdr[:4], castagnoli), binary.LittleEndian.Uint32(hdr[4:]); got != want {
		if z, err := r.zeroTail(off); err != nil {
			return nil, off, err
		} else if z {
			return nil, off, &TornError{File: r.name, Offset: off, Reason: "zero-filled tail", Zero: true}
		}
		if torn, err := r.zerosFrom(off + TornSpan); err != nil {
			return nil, off, err
		} else if torn {
			return nil, off, &TornError{File: r.name, Offset: off, Reason: "partly written record header; zeros follow"}
		}
		return nil, off, iface.Corruptf(r.name, off, "record length %d fails its checksum (crc32c %08x, stored %08x)", n, got, want)
	}
	total := HeaderLen + n + TrailerLen
	if n > MaxPayload || total > remain {
		if z, err := r.zeroTail(off); err != nil {
			return nil, off, err
		} else if z {
			return nil, off, &TornError{File: r.name, Offset: off, Reason: "zero-filled tail", Zero: true}
		}
		return nil, off, &TornError{File: r.name, Offset: off,
			Reason: fmt.Sprintf("record length %d runs past end of file (%d bytes left)", n, remain)}
	}
	if cap(r.buf) < int(total) {
		r.buf = make([]byte, total)
	}
	buf := r.buf[:total]
	if got, err := r.f.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && got == len(buf)) {
		return nil, off, fmt.Errorf("read %s at %d: %w", r.name, off, err)
	}
	want := binary.LittleEndian.Uint32(buf[total-TrailerLen:])
	if got := crc32.Checksum(buf[:total-TrailerLen], castagnoli); got != want {
		if n == 0 && want == 0 {
			if z, err := r.zeroTail(off); err != nil {
				return nil, off, err
			} else if z {
				return nil, off, &TornError{File: r.name, Offset: off, Reason: "zero-filled tail", Zero: true}
			}
		}
		if off+total == r.size {
			return nil, off, &TornError{File: r.name, Offset: off,
				Reason: fmt.Sprintf("last record fails its checksum (crc32c %08x, stored %08x)", got, want)}
		}
		if torn, err := r.zerosFrom(off + total); err != nil {
			return nil, off, err
		} else if torn {
			return nil, off, &TornError{File: r.name, Offset: off,
				Reason: fmt.Sprintf("last record fails its checksum (crc32c %08x, stored %08x); zeros follow", got, want)}
		}
		return nil, off, iface.Corruptf(r.name, off, "record checksum mismatch: crc32c %08x, stored %08x", got, want)
	}
	r.off = off + total
	return buf[HeaderLen : total-TrailerLen], off, nil
}

// zerosFrom reports whether the file goes on past off and every byte from
// off to its end is zero: what follows a record whose append was cut short
// in a preallocated file (see TornSpan).
func (r *Reader) zerosFrom(off int64) (bool, error) {
	if off >= r.size {
		return false, nil
	}
	return r.zeroTail(off)
}

// zeroTail reports whether every byte from off to the end of the file is zero.
func (r *Reader) zeroTail(off int64) (bool, error) {
	var chunk [4096]byte
	for off < r.size {
		n := int64(len(chunk))
		if r.size-off < n {
			n = r.size - off
		}
		got, err := r.f.ReadAt(chunk[:n], off)
		if err != nil && !(errors.Is(err, io.EOF) && int64(got) == n) {
			return false, fmt.Errorf("read %s at %d: %w", r.name, off, err)
		}
		for _, b := range chunk[:n] {
			if b != 0 {
				return false, nil
			}
		}
		off += n
	}
	return true, nil
}
