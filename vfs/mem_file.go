package vfs

import (
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// memFile is a handle on a MemFS inode. It keeps working after its name is
// renamed or removed, as on a POSIX file system.
type memFile struct {
	fs       *MemFS
	node     *memNode
	name     string
	writable bool
	closed   bool
}

var _ File = (*memFile)(nil)

// usable fails when the file system crashed or the handle is closed. f.fs.mu
// must be held.
func (f *memFile) usable(op string) error {
	if err := f.fs.check(op, f.name); err != nil {
		return err
	}
	if f.closed {
		return pathErr(op, f.name, fs.ErrClosed)
	}
	return nil
}

// begin is the prologue of the mutating file methods. The call is counted
// (and may crash) before the handle is checked, so that every call counts.
func (f *memFile) begin(op string, needWrite bool) error {
	if err := f.fs.check(op, f.name); err != nil {
		return err
	}
	if err := f.fs.tick(op, f.name); err != nil {
		return err
	}
	if err := f.usable(op); err != nil {
		return err
	}
	if needWrite && !f.writable {
		return pathErr(op, f.name, syscall.EBADF)
	}
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, syscall.EINVAL)
	}
	data := f.node.data
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.begin("write", true); err != nil {
		return 0, err
	}
	f.node.data = append(f.node.data, p...)
	return len(p), nil
}

// Sync makes the inode's current bytes durable. Like fsync, it works on any
// handle, read-only ones included.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.begin("sync", false); err != nil {
		return err
	}
	d := f.node.data
	f.node.synced = d[:len(d):len(d)]
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.begin("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, syscall.EINVAL)
	}
	// Always copy: synced may alias data, and later appends must not overwrite
	// bytes it shows.
	d := make([]byte, size)
	copy(d, f.node.data)
	f.node.data = d
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// memLock is a lock taken by MemFS.Lock.
type memLock struct {
	fs     *MemFS
	key    string
	name   string
	closed bool
}

func (l *memLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	if err := l.fs.check("unlock", l.name); err != nil {
		return err
	}
	if l.closed {
		return pathErr("unlock", l.name, fs.ErrClosed)
	}
	l.closed = true
	delete(l.fs.locks, l.key)
	return nil
}

// memInfo is the os.FileInfo MemFS.Stat returns.
type memInfo struct {
	name string
	size int64
	dir  bool
}

var _ os.FileInfo = memInfo{}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) Sys() any           { return nil }

func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
