package sstable

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// On-disk constants of sstable/v1.
const (
	formatName    = "sstable/v1"
	formatVersion = 1
	// magic is "NoKVsst1" read as a big-endian number; stored little-endian.
	magic uint64 = 0x4e6f4b5673737431

	trailerLen = 5  // compression type (1) + crc32c (4)
	footerLen  = 64 // 3 handles (48) + version (4) + crc (4) + magic (8)

	blockTypeNone   byte = 0
	blockTypeSnappy byte = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// blockChecksum is the crc32c of a stored block followed by its type byte;
// b must be those bytes, contiguous.
func blockChecksum(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// handle locates a stored block (without its trailer).
type handle struct {
	offset, length uint64
}

func (h handle) end() uint64 { return h.offset + h.length + trailerLen }

func (h handle) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, h.offset)
	return binary.AppendUvarint(dst, h.length)
}

// decodeHandle decodes an index value; it reports false on a malformed one.
func decodeHandle(b []byte) (handle, bool) {
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return handle{}, false
	}
	length, m := binary.Uvarint(b[n:])
	if m <= 0 || n+m != len(b) || off > math.MaxInt64/2 || length > math.MaxInt64/2 {
		return handle{}, false
	}
	return handle{off, length}, true
}

// blockWriter accumulates the entries of one data or index block.
type blockWriter struct {
	interval int
	buf      []byte
	restarts []uint32
	counter  int // entries since the last restart
	lastKey  []byte
	entries  int
}

func (w *blockWriter) reset() {
	w.buf = w.buf[:0]
	w.restarts = w.restarts[:0]
	w.counter = 0
	w.lastKey = w.lastKey[:0]
	w.entries = 0
}

func (w *blockWriter) add(key, value []byte) {
	shared := 0
	if w.entries == 0 || w.counter >= w.interval {
		w.restarts = append(w.restarts, uint32(len(w.buf)))
		w.counter = 0
	} else {
		n := min(len(key), len(w.lastKey))
		for shared < n && key[shared] == w.lastKey[shared] {
			shared++
		}
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(shared))
	w.buf = binary.AppendUvarint(w.buf, uint64(len(key)-shared))
	w.buf = binary.AppendUvarint(w.buf, uint64(len(value)))
	w.buf = append(w.buf, key[shared:]...)
	w.buf = append(w.buf, value...)
	w.lastKey = append(w.lastKey[:0], key...)
	w.counter++
	w.entries++
}

// size is the length the block would have if finished now.
func (w *blockWriter) size() int { return len(w.buf) + 4*len(w.restarts) + 4 }

// finish appends the restart array and returns the block contents, which
// alias the writer's buffer until the next reset.
func (w *blockWriter) finish() []byte {
	for _, r := range w.restarts {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, r)
	}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(w.restarts)))
	return w.buf
}

// checkBlock validates the restart array of a block's contents, so that
// iterators may trust it: a count that fits, offsets strictly increasing from
// zero and inside the entry area. It returns a reason, or "" when sound.
func checkBlock(data []byte) string {
	if len(data) < 4 {
		return "block shorter than its restart count"
	}
	n := uint64(binary.LittleEndian.Uint32(data[len(data)-4:]))
	if n > uint64(len(data)-4)/4 {
		return "restart count past the block"
	}
	restarts := len(data) - 4 - 4*int(n)
	if n == 0 {
		if restarts != 0 {
			return "entries without restart points"
		}
		return ""
	}
	prev := -1
	for i := 0; i < int(n); i++ {
		off := int(binary.LittleEndian.Uint32(data[restarts+4*i:]))
		if (i == 0 && off != 0) || off <= prev || off >= restarts {
			return "restart offsets out of order or past the entries"
		}
		prev = off
	}
	return ""
}
