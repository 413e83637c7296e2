package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync/atomic"
)

// Op names one operation of an FS or a File, as ErrorFS counts and injects
// them.
type Op int

// The operations ErrorFS sees. File operations carry the name the file was
// opened with.
const (
	OpCreate     Op = iota // FS.Create
	OpOpen                 // FS.Open
	OpOpenAppend           // FS.OpenAppend
	OpRemove               // FS.Remove
	OpRename               // FS.Rename (the name passed is oldname)
	OpList                 // FS.List
	OpMkdirAll             // FS.MkdirAll
	OpStat                 // FS.Stat
	OpSyncDir              // FS.SyncDir
	OpLock                 // FS.Lock
	OpRead                 // File.ReadAt
	OpWrite                // File.Write
	OpSync                 // File.Sync
	OpSize                 // File.Size
	OpTruncate             // File.Truncate
	OpClose                // File.Close
	numOps
)

var opNames = [numOps]string{
	"create", "open", "open-append", "remove", "rename", "list", "mkdir-all",
	"stat", "sync-dir", "lock", "read", "write", "sync", "size", "truncate", "close",
}

// String returns the operation's lower-case name, such as "sync-dir".
func (op Op) String() string {
	if op >= 0 && op < numOps {
		return opNames[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// ErrInjected is the error FailNth and FailWhen inject when given a nil error.
var ErrInjected = errors.New("vfs: injected error")

// Injector decides, before each operation of an ErrorFS, whether it fails.
// MaybeError returns nil to let the operation run, or the error it returns
// instead (the operation then does not happen). It may be called concurrently.
type Injector interface {
	MaybeError(op Op, name string) error
}

// InjectorFunc adapts a function to the Injector interface.
type InjectorFunc func(op Op, name string) error

// MaybeError calls f.
func (f InjectorFunc) MaybeError(op Op, name string) error { return f(op, name) }

// FailNth returns an Injector that fails exactly the n-th operation it sees
// (counting from 1) with err, or ErrInjected if err is nil, and lets all others
// run. When ops are given, only those operations are counted and can fail. To
// simulate a full disk, pass syscall.ENOSPC as err.
func FailNth(n int64, err error, ops ...Op) Injector {
	return &nthInjector{n: n, err: orInjected(err), ops: opSet(ops)}
}

type nthInjector struct {
	n     int64
	err   error
	ops   *[numOps]bool // nil: every op
	count atomic.Int64
}

func (i *nthInjector) MaybeError(op Op, _ string) error {
	if i.ops != nil && !(op >= 0 && op < numOps && i.ops[op]) {
		return nil
	}
	if i.count.Add(1) == i.n {
		return i.err
	}
	return nil
}

// FailWhen returns an Injector that fails every operation for which pred
// returns true with err, or ErrInjected if err is nil. pred may be called
// concurrently.
func FailWhen(pred func(op Op, name string) bool, err error) Injector {
	err = orInjected(err)
	return InjectorFunc(func(op Op, name string) error {
		if pred(op, name) {
			return err
		}
		return nil
	})
}

func orInjected(err error) error {
	if err == nil {
		return ErrInjected
	}
	return err
}

func opSet(ops []Op) *[numOps]bool {
	if len(ops) == 0 {
		return nil
	}
	var s [numOps]bool
	for _, op := range ops {
		if op >= 0 && op < numOps {
			s[op] = true
		}
	}
	return &s
}

// ErrorFS wraps an FS and, before every operation on it or on a File it
// opened, counts the operation and asks its Injector whether to fail it. An
// injected error is returned wrapped in an *fs.PathError, so errors.Is works
// on it. The usual test runs a workload once with no injector to learn Ops,
// then once per i in 1..Ops over a fresh FS with FailNth(i, nil), checking
// that each failure is reported and leaves recoverable state.
//
// An ErrorFS is safe for concurrent use; the injector may be swapped at any
// time with SetInjector.
type ErrorFS struct {
	inner  FS
	inj    atomic.Pointer[Injector]
	total  atomic.Int64
	counts [numOps]atomic.Int64
}

var _ FS = (*ErrorFS)(nil)

// InjectsFaults marks a file system whose operations fail on purpose, so
// that consistency checks made in tests know that the debris of failed
// operations (a table file never installed, say) is expected.
func (*ErrorFS) InjectsFaults() {}

// NewErrorFS wraps inner. inj may be nil, in which case nothing fails and
// operations are only counted.
func NewErrorFS(inner FS, inj Injector) *ErrorFS {
	e := &ErrorFS{inner: inner}
	e.SetInjector(inj)
	return e
}

// SetInjector replaces the injector; nil stops injecting. Operations already
// past their injection point are not affected.
func (e *ErrorFS) SetInjector(inj Injector) {
	if inj == nil {
		e.inj.Store(nil)
		return
	}
	e.inj.Store(&inj)
}

// Ops returns how many operations e has seen, failed ones included.
func (e *ErrorFS) Ops() int64 { return e.total.Load() }

// OpsOf returns how many of the given operations e has seen, failed ones
// included; use it with a FailNth restricted to the same operations.
func (e *ErrorFS) OpsOf(ops ...Op) int64 {
	var n int64
	for _, op := range ops {
		if op >= 0 && op < numOps {
			n += e.counts[op].Load()
		}
	}
	return n
}

// maybe counts op and returns the injected error, if any.
func (e *ErrorFS) maybe(op Op, name string) error {
	e.total.Add(1)
	e.counts[op].Add(1)
	p := e.inj.Load()
	if p == nil {
		return nil
	}
	if err := (*p).MaybeError(op, name); err != nil {
		return &fs.PathError{Op: op.String(), Path: name, Err: err}
	}
	return nil
}

func (e *ErrorFS) wrap(name string, f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &errorFile{inner: f, fs: e, name: name}, nil
}

// Create is FS.Create, counted as OpCreate.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.maybe(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := e.inner.Create(name)
	return e.wrap(name, f, err)
}

// Open is FS.Open, counted as OpOpen.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.maybe(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.inner.Open(name)
	return e.wrap(name, f, err)
}

// OpenAppend is FS.OpenAppend, counted as OpOpenAppend.
func (e *ErrorFS) OpenAppend(name string) (File, error) {
	if err := e.maybe(OpOpenAppend, name); err != nil {
		return nil, err
	}
	f, err := e.inner.OpenAppend(name)
	return e.wrap(name, f, err)
}

// Remove is FS.Remove, counted as OpRemove.
func (e *ErrorFS) Remove(name string) error {
	if err := e.maybe(OpRemove, name); err != nil {
		return err
	}
	return e.inner.Remove(name)
}

// Rename is FS.Rename, counted as OpRename under oldname.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.maybe(OpRename, oldname); err != nil {
		return err
	}
	return e.inner.Rename(oldname, newname)
}

// List is FS.List, counted as OpList.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if err := e.maybe(OpList, dir); err != nil {
		return nil, err
	}
	return e.inner.List(dir)
}

// MkdirAll is FS.MkdirAll, counted as OpMkdirAll.
func (e *ErrorFS) MkdirAll(dir string) error {
	if err := e.maybe(OpMkdirAll, dir); err != nil {
		return err
	}
	return e.inner.MkdirAll(dir)
}

// Stat is FS.Stat, counted as OpStat.
func (e *ErrorFS) Stat(name string) (os.FileInfo, error) {
	if err := e.maybe(OpStat, name); err != nil {
		return nil, err
	}
	return e.inner.Stat(name)
}

// SyncDir is FS.SyncDir, counted as OpSyncDir.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.maybe(OpSyncDir, dir); err != nil {
		return err
	}
	return e.inner.SyncDir(dir)
}

// Lock is FS.Lock, counted as OpLock. Releasing the lock is not counted.
func (e *ErrorFS) Lock(name string) (io.Closer, error) {
	if err := e.maybe(OpLock, name); err != nil {
		return nil, err
	}
	return e.inner.Lock(name)
}

// errorFile is a File opened through an ErrorFS.
type errorFile struct {
	inner File
	fs    *ErrorFS
	name  string
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.maybe(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.inner.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.fs.maybe(OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.inner.Write(p)
}

func (f *errorFile) Sync() error {
	if err := f.fs.maybe(OpSync, f.name); err != nil {
		return err
	}
	return f.inner.Sync()
}

func (f *errorFile) Size() (int64, error) {
	if err := f.fs.maybe(OpSize, f.name); err != nil {
		return 0, err
	}
	return f.inner.Size()
}

func (f *errorFile) Truncate(size int64) error {
	if err := f.fs.maybe(OpTruncate, f.name); err != nil {
		return err
	}
	return f.inner.Truncate(size)
}

// Close releases the inner file even when an error is injected, as a real
// close does: the handle is gone either way.
func (f *errorFile) Close() error {
	injected := f.fs.maybe(OpClose, f.name)
	err := f.inner.Close()
	if injected != nil {
		return injected
	}
	return err
}
