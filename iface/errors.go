package iface

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every layer wraps them with %w, so errors.Is works from the
// top of the stack.
var (
	// ErrNotFound: the key has no visible value.
	ErrNotFound = errors.New("nokv: key not found")
	// ErrClosed: the object was used after Close.
	ErrClosed = errors.New("nokv: closed")
	// ErrCorruption: stored data failed a checksum or a structural check.
	ErrCorruption = errors.New("nokv: corruption")
	// ErrInvalidArgument: the caller passed something the API does not accept.
	ErrInvalidArgument = errors.New("nokv: invalid argument")
	// ErrIncompatible: the store was written with other on-disk components
	// or a format version this build does not read.
	ErrIncompatible = errors.New("nokv: incompatible store")
	// ErrReadOnly: the DB stopped accepting writes after a background error.
	ErrReadOnly = errors.New("nokv: read-only after background error")
	// ErrFull: a memtable has no room for the entry (the caller rotates it).
	ErrFull = errors.New("nokv: memtable full")
	// ErrHotKey: a write was refused because its key is written more often
	// than the configured per-key limit allows.
	ErrHotKey = errors.New("nokv: key written too often")
)

// CorruptionError names where damage was found. errors.Is(err, ErrCorruption)
// holds for it.
type CorruptionError struct {
	File   string // file name (path as the FS knows it)
	Offset int64  // byte offset of the damaged record or block, -1 if unknown
	Reason string // what was expected and what was found
}

func (e *CorruptionError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("nokv: corruption in %s at offset %d: %s", e.File, e.Offset, e.Reason)
	}
	return fmt.Sprintf("nokv: corruption in %s: %s", e.File, e.Reason)
}

// Is makes errors.Is(err, ErrCorruption) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorruption }

// Corruptf builds a *CorruptionError.
func Corruptf(file string, offset int64, format string, args ...any) error {
	return &CorruptionError{File: file, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}
