package iface

import (
	"bytes"
	"encoding/binary"
	"math"
)

// TrailerLen is the length of the version trailer of an internal key.
const TrailerLen = 8

// MaxVersion is the largest version; a lookup key made with it sorts before
// every stored version of its user key.
const MaxVersion uint64 = math.MaxUint64

// MakeKey appends the internal key for (userKey, version) to dst and returns it.
func MakeKey(dst, userKey []byte, version uint64) []byte {
	dst = append(dst, userKey...)
	return binary.BigEndian.AppendUint64(dst, ^version)
}

// UserKey returns the user-key part of an internal key (aliasing it).
// An input shorter than the trailer is returned unchanged.
func UserKey(ikey []byte) []byte {
	if len(ikey) < TrailerLen {
		return ikey
	}
	return ikey[:len(ikey)-TrailerLen]
}

// Version returns the version of an internal key, or 0 if it is too short.
func Version(ikey []byte) uint64 {
	if len(ikey) < TrailerLen {
		return 0
	}
	return ^binary.BigEndian.Uint64(ikey[len(ikey)-TrailerLen:])
}

// Compare orders internal keys: by user key ascending, then by version
// descending. Keys shorter than the trailer compare bytewise as user keys.
func Compare(a, b []byte) int {
	ua, ub := UserKey(a), UserKey(b)
	if c := bytes.Compare(ua, ub); c != 0 {
		return c
	}
	// The trailers hold ^version big-endian, so bytewise order is descending version.
	return bytes.Compare(a[len(ua):], b[len(ub):])
}

// SameUserKey reports whether two internal keys share a user key.
func SameUserKey(a, b []byte) bool { return bytes.Equal(UserKey(a), UserKey(b)) }
