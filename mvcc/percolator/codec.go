package percolator

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nokv/nokv/iface"
)

// Column family prefixes: the first byte of every engine key percolator
// writes. Other layers sharing the engine keep their keys out of these.
const (
	cfDefault byte = 'd'
	cfLock    byte = 'l'
	cfWrite   byte = 'w'
)

// tsLen is the length of the timestamp suffix of write and default keys.
const tsLen = 8

// Memcomparable encoding of a user key: groups of 8 bytes, the last padded
// with zeros, each followed by a marker byte 0xFF - (padding). Bytewise order
// of encodings equals bytewise order of keys, and no encoding is a prefix of
// another, so a timestamp can follow it without breaking the order.
const (
	groupSize = 8
	marker    = 0xFF
)

// appendKey appends the memcomparable encoding of key to dst.
func appendKey(dst, key []byte) []byte {
	for i := 0; i <= len(key); i += groupSize {
		rest := len(key) - i
		if rest >= groupSize {
			dst = append(dst, key[i:i+groupSize]...)
			dst = append(dst, marker)
			continue
		}
		dst = append(dst, key[i:]...)
		for j := rest; j < groupSize; j++ {
			dst = append(dst, 0)
		}
		dst = append(dst, marker-byte(groupSize-rest))
	}
	return dst
}

// decodeKey decodes a memcomparable key at the start of b and returns it
// and the bytes after it.
func decodeKey(b []byte) (key, rest []byte, err error) {
	for {
		if len(b) < groupSize+1 {
			return nil, nil, fmt.Errorf("%w: truncated memcomparable key", iface.ErrCorruption)
		}
		group, m := b[:groupSize], b[groupSize]
		b = b[groupSize+1:]
		if m == marker {
			key = append(key, group...)
			continue
		}
		pad := int(marker - m)
		if pad > groupSize {
			return nil, nil, fmt.Errorf("%w: bad memcomparable marker %#x", iface.ErrCorruption, m)
		}
		for _, c := range group[groupSize-pad:] {
			if c != 0 {
				return nil, nil, fmt.Errorf("%w: non-zero memcomparable padding", iface.ErrCorruption)
			}
		}
		if key == nil {
			key = []byte{}
		}
		return append(key, group[:groupSize-pad]...), b, nil
	}
}

// lockKey is the engine key of key's lock.
func lockKey(key []byte) []byte {
	return appendKey(append(make([]byte, 0, 2+len(key)*9/8+groupSize), cfLock), key)
}

// tsKey is the engine key of key at ts in the write or default family:
// newer timestamps sort first.
func tsKey(cf byte, key []byte, ts uint64) []byte {
	b := appendKey(append(make([]byte, 0, 2+len(key)*9/8+groupSize+tsLen), cf), key)
	return binary.BigEndian.AppendUint64(b, ^ts)
}

func writeKey(key []byte, commitTs uint64) []byte  { return tsKey(cfWrite, key, commitTs) }
func defaultKey(key []byte, startTs uint64) []byte { return tsKey(cfDefault, key, startTs) }

// writePrefix is the prefix shared by every version of key in the write
// family; a seek to writePrefix+0xFF... passes all of them.
func writePrefix(key []byte) []byte { return appendKey([]byte{cfWrite}, key) }

// afterVersions returns the engine key just past every version of key in
// the write family (the version with timestamp 0, which is never used).
func afterVersions(key []byte) []byte { return writeKey(key, 0) }

// splitTsKey splits a write or default engine key into user key and
// timestamp.
func splitTsKey(ek []byte) ([]byte, uint64, error) {
	if len(ek) < 1+groupSize+1+tsLen {
		return nil, 0, fmt.Errorf("%w: short versioned key %x", iface.ErrCorruption, ek)
	}
	key, rest, err := decodeKey(ek[1 : len(ek)-tsLen])
	if err != nil {
		return nil, 0, err
	}
	if len(rest) != 0 {
		return nil, 0, fmt.Errorf("%w: trailing bytes in versioned key %x", iface.ErrCorruption, ek)
	}
	return key, ^binary.BigEndian.Uint64(ek[len(ek)-tsLen:]), nil
}

// splitLockKey returns the user key of a lock engine key.
func splitLockKey(ek []byte) ([]byte, error) {
	if len(ek) < 1 {
		return nil, fmt.Errorf("%w: empty lock key", iface.ErrCorruption)
	}
	key, rest, err := decodeKey(ek[1:])
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%w: trailing bytes in lock key %x", iface.ErrCorruption, ek)
	}
	return key, err
}

// cfBounds returns the engine key range of the user keys [start, end) in a
// family; an empty end means the end of the family.
func cfBounds(cf byte, start, end []byte) (lower, upper []byte) {
	lower = []byte{cf}
	if len(start) > 0 {
		lower = appendKey(lower, start)
	}
	if len(end) == 0 {
		return lower, []byte{cf + 1}
	}
	return lower, appendKey([]byte{cf}, end)
}

// physical returns the physical part (milliseconds) of a TSO timestamp:
// ts = physical << 18 | logical.
func physical(ts uint64) uint64 { return ts >> 18 }

// maxTs is the largest timestamp; readers use it for "the newest".
const maxTs uint64 = math.MaxUint64
