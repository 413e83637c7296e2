package vfs

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// MemFS is an in-memory FS that models what survives a power loss, so tests can
// crash a workload at any instant and check what recovery finds.
//
// The model follows the durability contract of this package. Every file is an
// inode with two versions of its bytes: the current data, and the data as of its
// last File.Sync. Every directory has two entry maps (name to inode): the current
// one, and the one as of its last SyncDir. A crash (Crash, or an operation armed
// by CrashAfter) keeps only what is durable: the synced entry maps, each entry
// pointing at its inode's synced bytes.
//
// Simplifications: directories made by MkdirAll are durable at once (both in the
// current and the synced entry map of their parent); paths are cleaned with
// path/filepath and resolved from one root, so "a/b" and "/a/b" name the same
// file; there are no permissions and no modification times.
//
// All methods are safe for concurrent use; one mutex guards the whole tree.
type MemFS struct {
	mu        sync.Mutex
	root      *memNode
	locks     map[string]bool
	ops       int64      // mutating operations performed (see MutatingOps)
	countdown int64      // > 0: the countdown-th mutating op from now crashes
	torn      *rand.Rand // non-nil: a crash keeps a random prefix of unsynced appends
	crashed   bool
	recovered *MemFS // the durable state captured at the crash
}

var _ FS = (*MemFS)(nil)

// ErrCrashed is returned by every operation on a MemFS, and on any File or lock
// obtained from it, after the MemFS has crashed.
var ErrCrashed = errors.New("vfs: file system crashed")

// memNode is an inode: a regular file or a directory.
type memNode struct {
	dir bool
	// Regular files. synced aliases a prefix of an old or current data array,
	// capped so that it never grows; writes only append to data, and Truncate
	// always copies, so bytes visible through synced never change.
	data   []byte
	synced []byte
	// Directories.
	cur     map[string]*memNode // entries now
	durable map[string]*memNode // entries that survive a crash
}

func newDirNode() *memNode {
	return &memNode{dir: true, cur: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// NewMem returns an empty MemFS whose root directory exists.
func NewMem() *MemFS {
	return &MemFS{root: newDirNode(), locks: map[string]bool{}}
}

// splitPath cleans name and returns its components below the root; the root
// itself has none.
func splitPath(name string) []string {
	p := strings.TrimLeft(filepath.Clean(name), string(filepath.Separator))
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, string(filepath.Separator))
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// check fails when m has crashed. m.mu must be held.
func (m *MemFS) check(op, name string) error {
	if m.crashed {
		return pathErr(op, name, ErrCrashed)
	}
	return nil
}

// tick accounts one mutating operation; it crashes m instead when the operation
// is the one CrashAfter armed. m.mu must be held and m must not have crashed.
func (m *MemFS) tick(op, name string) error {
	m.ops++
	if m.countdown > 0 {
		m.countdown--
		if m.countdown == 0 {
			m.crashLocked()
			return pathErr(op, name, ErrCrashed)
		}
	}
	return nil
}

// begin is check followed by tick, the prologue of every mutating FS method.
func (m *MemFS) begin(op, name string) error {
	if err := m.check(op, name); err != nil {
		return err
	}
	return m.tick(op, name)
}

// walk resolves parts through the current entry maps.
func (m *MemFS) walk(op, name string, parts []string) (*memNode, error) {
	n := m.root
	for _, p := range parts {
		if !n.dir {
			return nil, pathErr(op, name, syscall.ENOTDIR)
		}
		c, ok := n.cur[p]
		if !ok {
			return nil, pathErr(op, name, fs.ErrNotExist)
		}
		n = c
	}
	return n, nil
}

// parent resolves the directory holding name and returns it with the base name.
func (m *MemFS) parent(op, name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", pathErr(op, name, syscall.EISDIR)
	}
	dir, err := m.walk(op, name, parts[:len(parts)-1])
	if err != nil {
		return nil, "", err
	}
	if !dir.dir {
		return nil, "", pathErr(op, name, syscall.ENOTDIR)
	}
	return dir, parts[len(parts)-1], nil
}

// Create creates name, or replaces it with a new empty inode if it exists, and
// opens it for writing. The new entry is durable after SyncDir on its parent;
// until then a crash finds the old file (if its entry was durable) or nothing.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin("create", name); err != nil {
		return nil, err
	}
	dir, base, err := m.parent("create", name)
	if err != nil {
		return nil, err
	}
	if old, ok := dir.cur[base]; ok && old.dir {
		return nil, pathErr("create", name, syscall.EISDIR)
	}
	n := &memNode{}
	dir.cur[base] = n
	return &memFile{fs: m, node: n, name: name, writable: true}, nil
}

// openFile resolves an existing regular file. m.mu must be held.
func (m *MemFS) openFile(op, name string) (*memNode, error) {
	n, err := m.walk(op, name, splitPath(name))
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, pathErr(op, name, syscall.EISDIR)
	}
	return n, nil
}

// Open opens an existing file for reading. A missing file gives an error for
// which errors.Is(err, os.ErrNotExist) holds; a directory gives syscall.EISDIR.
func (m *MemFS) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("open", name); err != nil {
		return nil, err
	}
	n, err := m.openFile("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{fs: m, node: n, name: name}, nil
}

// OpenAppend opens an existing file for appending and reading.
func (m *MemFS) OpenAppend(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin("open", name); err != nil {
		return nil, err
	}
	n, err := m.openFile("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{fs: m, node: n, name: name, writable: true}, nil
}

// Remove deletes a file or an empty directory. The removal is durable after
// SyncDir on the parent; open Files keep working on the inode.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin("remove", name); err != nil {
		return err
	}
	dir, base, err := m.parent("remove", name)
	if err != nil {
		return err
	}
	n, ok := dir.cur[base]
	if !ok {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	if n.dir && len(n.cur) > 0 {
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	delete(dir.cur, base)
	return nil
}

// Rename moves oldname to newname, replacing newname if it is a file. Like
// os.Rename, it never replaces a directory, and a directory never replaces a
// file. The change is durable after SyncDir on both parents; a crash before
// that finds newname holding either its old inode or the renamed one, never a
// mixture.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin("rename", oldname); err != nil {
		return err
	}
	odir, obase, err := m.parent("rename", oldname)
	if err != nil {
		return err
	}
	n, ok := odir.cur[obase]
	if !ok {
		return pathErr("rename", oldname, fs.ErrNotExist)
	}
	ndir, nbase, err := m.parent("rename", newname)
	if err != nil {
		return err
	}
	if odir == ndir && obase == nbase {
		return nil
	}
	if old, ok := ndir.cur[nbase]; ok {
		// Like os.Rename, which refuses to replace any directory.
		if old.dir {
			return pathErr("rename", newname, fs.ErrExist)
		}
		if n.dir {
			return pathErr("rename", newname, syscall.ENOTDIR)
		}
	}
	if n.dir {
		// A directory cannot move below itself.
		op, np := splitPath(oldname), splitPath(newname)
		if len(np) > len(op) && strings.Join(np[:len(op)], "/") == strings.Join(op, "/") {
			return pathErr("rename", newname, syscall.EINVAL)
		}
	}
	delete(odir.cur, obase)
	ndir.cur[nbase] = n
	return nil
}

// List returns the current entry names of dir, sorted.
func (m *MemFS) List(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("readdir", dir); err != nil {
		return nil, err
	}
	n, err := m.walk("readdir", dir, splitPath(dir))
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, pathErr("readdir", dir, syscall.ENOTDIR)
	}
	names := make([]string, 0, len(n.cur))
	for name := range n.cur {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll creates dir and any missing parents. Unlike files, new directories
// are durable at once: a crash never loses a directory MkdirAll made.
func (m *MemFS) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin("mkdir", dir); err != nil {
		return err
	}
	n := m.root
	for _, p := range splitPath(dir) {
		c, ok := n.cur[p]
		if !ok {
			c = newDirNode()
			n.cur[p] = c
			n.durable[p] = c
		} else if !c.dir {
			return pathErr("mkdir", dir, syscall.ENOTDIR)
		}
		n = c
	}
	return nil
}

// Stat describes name as it is now (current entries, current size).
func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("stat", name); err != nil {
		return nil, err
	}
	parts := splitPath(name)
	n, err := m.walk("stat", name, parts)
	if err != nil {
		return nil, err
	}
	base := string(filepath.Separator)
	if len(parts) > 0 {
		base = parts[len(parts)-1]
	}
	return memInfo{name: base, size: int64(len(n.data)), dir: n.dir}, nil
}

// SyncDir makes the current entries of dir durable: a later crash finds exactly
// these names, each pointing at the synced bytes of its inode.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.begin("sync", dir); err != nil {
		return err
	}
	n, err := m.walk("sync", dir, splitPath(dir))
	if err != nil {
		return err
	}
	if !n.dir {
		return pathErr("sync", dir, syscall.ENOTDIR)
	}
	n.durable = make(map[string]*memNode, len(n.cur))
	for k, v := range n.cur {
		n.durable[k] = v
	}
	return nil
}

// Lock takes an in-process exclusive lock named by name, creating the file (as
// a non-durable entry) if needed. A second Lock of the same name fails with an
// error wrapping ErrLocked until the returned Closer is closed. Locks do not
// survive a crash.
func (m *MemFS) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check("lock", name); err != nil {
		return nil, err
	}
	key := strings.Join(splitPath(name), "/")
	if m.locks[key] {
		return nil, pathErr("lock", name, ErrLocked)
	}
	dir, base, err := m.parent("lock", name)
	if err != nil {
		return nil, err
	}
	if n, ok := dir.cur[base]; !ok {
		dir.cur[base] = &memNode{}
	} else if n.dir {
		return nil, pathErr("lock", name, syscall.EISDIR)
	}
	m.locks[key] = true
	return &memLock{fs: m, key: key, name: name}, nil
}
