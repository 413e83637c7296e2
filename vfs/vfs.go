// Package vfs is the file-system seam of NoKV: every file the engine touches goes
// through an FS, so tests can swap the operating system for an in-memory file
// system that simulates a crash (MemFS) or for a wrapper that injects errors
// (ErrorFS).
//
// Durability contract, which every implementation honours and the engine relies on:
//
//   - Bytes written to a File are durable only after File.Sync returns nil.
//   - A newly created, renamed or removed directory entry is durable only after
//     SyncDir on its parent directory returns nil.
//   - Rename replaces the destination atomically: after a crash either the old or
//     the new file is found under the name, never a mixture.
package vfs

import (
	"io"
	"os"
)

// File is an open file. Files opened with Create or OpenAppend are written
// sequentially (Write appends at the end); files opened with Open are read-only.
// ReadAt may be called concurrently with itself; Write, Sync, Truncate and Close
// must not be called concurrently with each other.
type File interface {
	// ReadAt reads len(p) bytes at off; it returns io.EOF (possibly with n > 0)
	// when fewer bytes exist.
	ReadAt(p []byte, off int64) (n int, err error)
	// Write appends p. The bytes are not durable until Sync returns.
	Write(p []byte) (n int, err error)
	// Sync makes every byte written so far durable.
	Sync() error
	// Size reports the current length of the file, synced or not.
	Size() (int64, error)
	// Truncate cuts the file to size bytes. Like a write, it is durable after Sync.
	Truncate(size int64) error
	// Close releases the file. It does not sync.
	Close() error
}

// FS is a file system. All methods may be called concurrently.
type FS interface {
	// Create creates name, or truncates it if it exists, and opens it for writing.
	Create(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	// OpenAppend opens an existing file for appending (and reading).
	OpenAppend(name string) (File, error)
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	// Rename atomically renames oldname to newname, replacing newname if it exists.
	Rename(oldname, newname string) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string) error
	// Stat describes name.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory entries of dir durable.
	SyncDir(dir string) error
	// Lock takes an exclusive lock named by the file name, creating it if needed.
	// It fails at once (it does not wait) when another holder has the lock; the
	// returned Closer releases it.
	Lock(name string) (io.Closer, error)
}

// Default is the operating system's file system.
var Default FS = osFS{}

// NewReader returns a sequential reader over f from offset 0.
func NewReader(f File) io.Reader {
	return io.NewSectionReader(readerAt{f}, 0, 1<<62)
}

type readerAt struct{ f File }

func (r readerAt) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// Mappable is implemented by files that can be written through a shared
// memory mapping (the operating system's files on Linux). Bytes copied into
// the mapping are in the kernel's page cache at once, so they survive a
// crash of the process like a completed write; like a write, they are
// durable only after Sync. File systems whose files do not implement it
// (MemFS, ErrorFS) are written with Write.
type Mappable interface {
	// Map makes the file size bytes long with its blocks allocated (so
	// stores through the mapping cannot fail for lack of space) and maps
	// [0, size) for reading and writing. Bytes past the old end read as
	// zeros. A second Map replaces the first mapping.
	Map(size int64) ([]byte, error)
	// Unmap drops the mapping; the bytes stay in the file.
	Unmap() error
}
