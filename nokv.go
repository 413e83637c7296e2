// Package nokv is the face of NoKV for embedded use: open a directory, write,
// read, iterate, snapshot. It re-exports the engine of package backend so
// that a Go program needs one import:
//
//	db, err := nokv.Open("/var/lib/app", nil)
//	if err != nil { ... }
//	defer db.Close()
//	err = db.Set([]byte("k"), []byte("v"), nil)
//	v, err := db.Get([]byte("k"))
//
// Writes are not synced by default: an acknowledged write survives the crash
// of the process, and survives a power loss once synced (WriteOptions.Sync,
// Options.SyncWrites or DB.Sync). See package backend for the details, and
// package registry for choosing components by name.
package nokv

import (
	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

type (
	// DB is an open store.
	DB = backend.DB
	// Options configure a store; the zero value is NoKV's defaults.
	Options = backend.Options
	// WriteOptions control one write.
	WriteOptions = backend.WriteOptions
	// Batch is a set of writes applied atomically.
	Batch = backend.Batch
	// Iterator walks keys in order.
	Iterator = backend.Iterator
	// IterOptions bound an iterator.
	IterOptions = backend.IterOptions
	// Snapshot is a consistent read-only view.
	Snapshot = backend.Snapshot
	// Stats summarizes the engine.
	Stats = backend.Stats
)

// Errors returned by the store; test them with errors.Is.
var (
	ErrNotFound        = iface.ErrNotFound
	ErrClosed          = iface.ErrClosed
	ErrCorruption      = iface.ErrCorruption
	ErrInvalidArgument = iface.ErrInvalidArgument
	ErrIncompatible    = iface.ErrIncompatible
	ErrReadOnly        = iface.ErrReadOnly
	ErrHotKey          = iface.ErrHotKey
)

// Open opens (creating if needed) the store in dir. opts may be nil.
func Open(dir string, opts *Options) (*DB, error) { return backend.Open(dir, opts) }

// NewBatch returns an empty write batch.
func NewBatch() *Batch { return backend.NewBatch() }
