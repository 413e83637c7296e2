package vlog

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nokv/nokv/internal/filenum"
	"github.com/nokv/nokv/internal/record"
)

// Name is the on-disk format name recorded in the manifest.
const Name = "vlog/v1"

// FormatVersion is the segment format version written in every segment
// header. A segment with another version is refused with iface.ErrIncompatible.
const FormatVersion = 1

// Sizes of the fixed parts of the format.
const (
	// SegmentHeaderLen is the length of a segment header; the first record of
	// a segment starts at this offset.
	SegmentHeaderLen = 16
	// RecordHeaderLen is the length of a record header.
	RecordHeaderLen = 28
	// RecordOverhead is the bytes a record adds to its key and value: the
	// header and the trailing checksum.
	RecordOverhead = RecordHeaderLen + 4
	// MaxValueLen bounds the value of one record (the write-ahead log bounds a
	// record to 1 GiB too).
	MaxValueLen = 1 << 30
	// MaxKeyLen bounds the key of one record.
	MaxKeyLen = 1 << 20
	// MaxSegmentSize bounds Options.SegmentSize, so that a segment's offsets
	// and lengths fit the 32-bit fields of iface.ValuePtr even when a single
	// oversized record is written past the rotation size.
	MaxSegmentSize = 1 << 31
)

// segmentMagic opens every segment file.
var segmentMagic = [4]byte{'N', 'K', 'V', 'L'}

// segmentExt is the suffix of segment file names.
const segmentExt = ".vlog"

// segmentName returns the file name of segment num: six digits at least.
func segmentName(num uint32) string { return filenum.Format(uint64(num), 6, segmentExt) }

// parseSegmentName returns the number of a segment file name (<digits>.vlog),
// or false if name is not one.
func parseSegmentName(name string) (uint32, bool) {
	n, ok := filenum.Parse(name, segmentExt)
	if !ok || n == 0 || n > math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// appendSegmentHeader appends the header of segment num to dst.
func appendSegmentHeader(dst []byte, num uint32) []byte {
	start := len(dst)
	dst = append(dst, segmentMagic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, FormatVersion)
	dst = binary.LittleEndian.AppendUint32(dst, num)
	return binary.LittleEndian.AppendUint32(dst, record.Checksum(dst[start:]))
}

// headerProblem classifies a bad segment header.
type headerProblem int

const (
	headerOK         headerProblem = iota
	headerZero                     // all zero bytes: a header that never reached the disk
	headerDamaged                  // bad magic or checksum
	headerWrongNum                 // a valid header for another segment number
	headerNewVersion               // a format version this build does not read
)

// checkSegmentHeader validates b (SegmentHeaderLen bytes) as the header of
// segment num and says what is wrong, with a reason for errors.
func checkSegmentHeader(b []byte, num uint32) (headerProblem, string) {
	zero := true
	for _, c := range b {
		if c != 0 {
			zero = false
			break
		}
	}
	if zero {
		return headerZero, "segment header is all zero bytes"
	}
	if [4]byte(b[:4]) != segmentMagic {
		return headerDamaged, fmt.Sprintf("bad segment magic %x, want %x", b[:4], segmentMagic[:])
	}
	if got, want := record.Checksum(b[:12]), binary.LittleEndian.Uint32(b[12:]); got != want {
		return headerDamaged, fmt.Sprintf("segment header checksum mismatch: crc32c %08x, stored %08x", got, want)
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != FormatVersion {
		return headerNewVersion, fmt.Sprintf("segment format version %d, this build reads %d", v, FormatVersion)
	}
	if n := binary.LittleEndian.Uint32(b[8:]); n != num {
		return headerWrongNum, fmt.Sprintf("segment header names segment %d", n)
	}
	return headerOK, ""
}

// recordLen returns the length of the record for a key and a value.
func recordLen(keyLen, valueLen int) int { return RecordOverhead + keyLen + valueLen }

// appendRecord appends the record for one value to dst.
func appendRecord(dst, key, value []byte, version, expiresAt uint64) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = binary.LittleEndian.AppendUint64(dst, version)
	dst = binary.LittleEndian.AppendUint64(dst, expiresAt)
	dst = binary.LittleEndian.AppendUint32(dst, record.Checksum(dst[start:start+24]))
	dst = append(dst, key...)
	dst = append(dst, value...)
	return binary.LittleEndian.AppendUint32(dst, record.Checksum(dst[start:]))
}

// recordHeader is a decoded record header.
type recordHeader struct {
	keyLen, valueLen   uint32
	version, expiresAt uint64
}

// total returns the length of the whole record the header starts.
func (h recordHeader) total() int64 {
	return RecordOverhead + int64(h.keyLen) + int64(h.valueLen)
}

// decodeRecordHeader decodes and checks a record header (RecordHeaderLen
// bytes). ok is false when the header fails its checksum or its lengths are
// out of bounds; reason says which.
func decodeRecordHeader(b []byte) (h recordHeader, reason string, ok bool) {
	h = recordHeader{
		keyLen:    binary.LittleEndian.Uint32(b),
		valueLen:  binary.LittleEndian.Uint32(b[4:]),
		version:   binary.LittleEndian.Uint64(b[8:]),
		expiresAt: binary.LittleEndian.Uint64(b[16:]),
	}
	if got, want := record.Checksum(b[:24]), binary.LittleEndian.Uint32(b[24:]); got != want {
		return h, fmt.Sprintf("record header checksum mismatch: crc32c %08x, stored %08x", got, want), false
	}
	if h.keyLen > MaxKeyLen || h.valueLen > MaxValueLen {
		return h, fmt.Sprintf("record header holds key length %d, value length %d (limits %d, %d)",
			h.keyLen, h.valueLen, MaxKeyLen, MaxValueLen), false
	}
	return h, "", true
}

// decodedRecord is one record split into its parts; key and value alias the
// buffer it was decoded from.
type decodedRecord struct {
	key, value         []byte
	version, expiresAt uint64
}

// decodeRecord decodes rec, which must hold exactly one whole record, and
// verifies both checksums. On failure it returns a reason for the error.
func decodeRecord(rec []byte) (decodedRecord, string, bool) {
	if len(rec) < RecordOverhead {
		return decodedRecord{}, fmt.Sprintf("record of %d bytes is shorter than the %d-byte minimum", len(rec), RecordOverhead), false
	}
	h, reason, ok := decodeRecordHeader(rec)
	if !ok {
		return decodedRecord{}, reason, false
	}
	if h.total() != int64(len(rec)) {
		return decodedRecord{}, fmt.Sprintf("record header gives length %d, pointer gives %d", h.total(), len(rec)), false
	}
	body := len(rec) - 4
	if got, want := record.Checksum(rec[:body]), binary.LittleEndian.Uint32(rec[body:]); got != want {
		return decodedRecord{}, fmt.Sprintf("record checksum mismatch: crc32c %08x, stored %08x", got, want), false
	}
	k := RecordHeaderLen + int(h.keyLen)
	return decodedRecord{
		key:       rec[RecordHeaderLen:k:k],
		value:     rec[k:body:body],
		version:   h.version,
		expiresAt: h.expiresAt,
	}, "", true
}
