package iface

import (
	"encoding/binary"
	"fmt"
)

// Kind says what a stored value is. The low 7 bits are the kind proper; the
// high bit (KindFlagExpires) says an 8-byte expiry follows the kind byte.
type Kind uint8

const (
	// KindDelete is a tombstone: the key is deleted at this version.
	KindDelete Kind = 0
	// KindSet holds the user's value inline.
	KindSet Kind = 1
	// KindPointer holds an encoded ValuePtr; the value lives in the ValueStore.
	KindPointer Kind = 2

	// KindFlagExpires marks a value that carries an expiry (unix seconds).
	KindFlagExpires Kind = 0x80
)

// Base strips the flags from k.
func (k Kind) Base() Kind { return k &^ KindFlagExpires }

func (k Kind) String() string {
	switch k.Base() {
	case KindDelete:
		return "DEL"
	case KindSet:
		return "SET"
	case KindPointer:
		return "PTR"
	}
	return fmt.Sprintf("KIND(%d)", uint8(k))
}

// EncodeValue appends the stored form of a value to dst and returns it.
// expiresAt 0 means the value never expires.
func EncodeValue(dst []byte, kind Kind, expiresAt uint64, payload []byte) []byte {
	if expiresAt != 0 {
		dst = append(dst, byte(kind|KindFlagExpires))
		dst = binary.BigEndian.AppendUint64(dst, expiresAt)
	} else {
		dst = append(dst, byte(kind.Base()))
	}
	return append(dst, payload...)
}

// DecodeValue splits a stored value into its parts. The payload aliases v.
// It returns ErrCorruption (wrapped) on a malformed value.
func DecodeValue(v []byte) (kind Kind, expiresAt uint64, payload []byte, err error) {
	if len(v) == 0 {
		return 0, 0, nil, fmt.Errorf("%w: empty stored value", ErrCorruption)
	}
	kind = Kind(v[0])
	v = v[1:]
	if kind&KindFlagExpires != 0 {
		if len(v) < 8 {
			return 0, 0, nil, fmt.Errorf("%w: truncated expiry", ErrCorruption)
		}
		expiresAt = binary.BigEndian.Uint64(v)
		v = v[8:]
	}
	switch kind.Base() {
	case KindDelete, KindSet, KindPointer:
	default:
		return 0, 0, nil, fmt.Errorf("%w: unknown value kind %d", ErrCorruption, kind)
	}
	return kind.Base(), expiresAt, v, nil
}

// ValuePtr locates a value in a ValueStore.
type ValuePtr struct {
	Segment uint32 // segment (file) number
	Offset  uint32 // byte offset of the record in the segment
	Len     uint32 // length of the record
}

// ValuePtrLen is the encoded length of a ValuePtr.
const ValuePtrLen = 12

// Encode appends the fixed 12-byte encoding of p to dst.
func (p ValuePtr) Encode(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, p.Segment)
	dst = binary.BigEndian.AppendUint32(dst, p.Offset)
	return binary.BigEndian.AppendUint32(dst, p.Len)
}

// DecodeValuePtr decodes a ValuePtr encoded by Encode.
func DecodeValuePtr(b []byte) (ValuePtr, error) {
	if len(b) != ValuePtrLen {
		return ValuePtr{}, fmt.Errorf("%w: value pointer of %d bytes", ErrCorruption, len(b))
	}
	return ValuePtr{
		Segment: binary.BigEndian.Uint32(b),
		Offset:  binary.BigEndian.Uint32(b[4:]),
		Len:     binary.BigEndian.Uint32(b[8:]),
	}, nil
}
