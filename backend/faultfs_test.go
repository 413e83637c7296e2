package backend_test

import (
	"flag"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/nokv/nokv/vfs"
)

// faultFS is the file system of the whole-workload fault test. Like
// vfs.ErrorFS it numbers every operation and asks a rule whether to fail it,
// and on top it models two things a real disk does on failure:
//
//   - A failed write may have written part of its bytes (a short write
//     before ENOSPC): with partial set, a failing write appends a random
//     prefix of its data first.
//   - A failed fsync loses the dirty pages it could not write (Linux marks
//     them clean, so a later fsync succeeds without them). The bytes that
//     were unsynced at the failure are zeroed in the state a crash leaves
//     (see lose), whatever later fsyncs did.
//
// It also records the phase of the workload each operation ran in, so the
// test can report which operations of which phase it failed.
// InjectsFaults: see vfs.ErrorFS.InjectsFaults.
func (*faultFS) InjectsFaults() {}

type faultFS struct {
	inner *vfs.MemFS
	// keepPages turns the model of pages lost to a failed fsync off.
	keepPages bool

	mu      sync.Mutex
	n       int64
	phase   string
	rule    faultRule
	partial bool
	rng     *rand.Rand
	trace   []faultOp // every operation, when tracing
	tracing bool
	hits    []faultOp           // operations that failed
	lost    map[string][]lossAt // path -> unsynced ranges lost to failed fsyncs
	synced  map[string]int64    // path -> size at its last successful fsync
}

var faultsKeepPages = flag.Bool("faults.keeppages", false,
	"fault tests: a failed fsync loses nothing (turns off the model of Linux dropping the pages it could not write)")

// faultOp is one operation as the trace and the report see it.
type faultOp struct {
	n     int64
	op    vfs.Op
	name  string
	phase string
}

type lossAt struct{ from, to int64 }

// faultRule returns the error operation n (op on name) fails with, or nil.
type faultRule func(n int64, op vfs.Op, name string) error

func newFaultFS(inner *vfs.MemFS, rule faultRule, seed uint64) *faultFS {
	return &faultFS{
		inner:  inner,
		rule:   rule,
		rng:    rand.New(rand.NewPCG(seed, 77)),
		lost:   map[string][]lossAt{},
		synced: map[string]int64{},
	}
}

func (f *faultFS) setPhase(p string) {
	f.mu.Lock()
	f.phase = p
	f.mu.Unlock()
}

// setRule swaps the rule; nil stops failing.
func (f *faultFS) setRule(r faultRule) {
	f.mu.Lock()
	f.rule = r
	f.mu.Unlock()
}

// check numbers an operation and returns the error it fails with, if any.
func (f *faultFS) check(op vfs.Op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	fo := faultOp{n: f.n, op: op, name: name, phase: f.phase}
	if f.tracing {
		f.trace = append(f.trace, fo)
	}
	if f.rule == nil {
		return nil
	}
	if err := f.rule(f.n, op, name); err != nil {
		f.hits = append(f.hits, fo)
		return &iofs.PathError{Op: op.String(), Path: name, Err: err}
	}
	return nil
}

// faults returns how many operations have failed so far.
func (f *faultFS) faults() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hits)
}

func (f *faultFS) forget(name string) {
	f.mu.Lock()
	delete(f.lost, name)
	delete(f.synced, name)
	f.mu.Unlock()
}

// lose zeroes, in rec (the state a crash of f.inner left), the bytes failed
// fsyncs lost.
func (f *faultFS) lose(rec *vfs.MemFS) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.lost))
	for n := range f.lost {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fh, err := rec.Open(name)
		if err != nil {
			continue // gone: nothing to damage
		}
		size, _ := fh.Size()
		data := make([]byte, size)
		_, err = fh.ReadAt(data, 0)
		fh.Close()
		if err != nil && err != io.EOF {
			return err
		}
		changed := false
		for _, l := range f.lost[name] {
			for i := l.from; i < l.to && i < size; i++ {
				data[i], changed = 0, true
			}
		}
		if !changed {
			continue
		}
		w, err := rec.Create(name)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if err := w.Sync(); err != nil {
			return err
		}
		w.Close()
		if err := rec.SyncDir(filepath.Dir(name)); err != nil {
			return err
		}
	}
	return nil
}

func (f *faultFS) wrap(name string, file vfs.File, err error, created bool) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	if created {
		f.forget(name)
	} else if size, err := file.Size(); err == nil {
		// What a file holds when it is opened counts as synced.
		f.mu.Lock()
		if _, ok := f.synced[name]; !ok {
			f.synced[name] = size
		}
		f.mu.Unlock()
	}
	return &faultFile{fs: f, inner: file, name: name}, nil
}

func (f *faultFS) Create(name string) (vfs.File, error) {
	if err := f.check(vfs.OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.inner.Create(name)
	return f.wrap(name, file, err, true)
}

func (f *faultFS) Open(name string) (vfs.File, error) {
	if err := f.check(vfs.OpOpen, name); err != nil {
		return nil, err
	}
	file, err := f.inner.Open(name)
	return f.wrap(name, file, err, false)
}

func (f *faultFS) OpenAppend(name string) (vfs.File, error) {
	if err := f.check(vfs.OpOpenAppend, name); err != nil {
		return nil, err
	}
	file, err := f.inner.OpenAppend(name)
	return f.wrap(name, file, err, false)
}

func (f *faultFS) Remove(name string) error {
	if err := f.check(vfs.OpRemove, name); err != nil {
		return err
	}
	err := f.inner.Remove(name)
	if err == nil {
		f.forget(name)
	}
	return err
}

func (f *faultFS) Rename(oldname, newname string) error {
	if err := f.check(vfs.OpRename, oldname); err != nil {
		return err
	}
	err := f.inner.Rename(oldname, newname)
	if err == nil {
		f.mu.Lock()
		f.lost[newname], f.synced[newname] = f.lost[oldname], f.synced[oldname]
		delete(f.lost, oldname)
		delete(f.synced, oldname)
		f.mu.Unlock()
	}
	return err
}

func (f *faultFS) List(dir string) ([]string, error) {
	if err := f.check(vfs.OpList, dir); err != nil {
		return nil, err
	}
	return f.inner.List(dir)
}

func (f *faultFS) MkdirAll(dir string) error {
	if err := f.check(vfs.OpMkdirAll, dir); err != nil {
		return err
	}
	return f.inner.MkdirAll(dir)
}

func (f *faultFS) Stat(name string) (os.FileInfo, error) {
	if err := f.check(vfs.OpStat, name); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.check(vfs.OpSyncDir, dir); err != nil {
		return err
	}
	return f.inner.SyncDir(dir)
}

func (f *faultFS) Lock(name string) (io.Closer, error) {
	if err := f.check(vfs.OpLock, name); err != nil {
		return nil, err
	}
	return f.inner.Lock(name)
}

// faultFile is a file opened through a faultFS.
type faultFile struct {
	fs    *faultFS
	inner vfs.File
	name  string
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(vfs.OpRead, f.name); err != nil {
		return 0, err
	}
	return f.inner.ReadAt(p, off)
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.check(vfs.OpWrite, f.name); err != nil {
		f.fs.mu.Lock()
		partial := f.fs.partial && len(p) > 0
		n := 0
		if partial {
			n = f.fs.rng.IntN(len(p))
		}
		f.fs.mu.Unlock()
		if n > 0 {
			if m, werr := f.inner.Write(p[:n]); werr != nil {
				return m, werr
			}
		}
		return n, err
	}
	return f.inner.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.check(vfs.OpSync, f.name); err != nil {
		// The pages that were dirty are gone from the disk's view.
		size, serr := f.inner.Size()
		f.fs.mu.Lock()
		if from := f.fs.synced[f.name]; serr == nil && size > from && !*faultsKeepPages && !f.fs.keepPages {
			f.fs.lost[f.name] = append(f.fs.lost[f.name], lossAt{from, size})
		}
		f.fs.mu.Unlock()
		return err
	}
	err := f.inner.Sync()
	if err == nil {
		if size, serr := f.inner.Size(); serr == nil {
			f.fs.mu.Lock()
			f.fs.synced[f.name] = size
			f.fs.mu.Unlock()
		}
	}
	return err
}

func (f *faultFile) Size() (int64, error) {
	if err := f.fs.check(vfs.OpSize, f.name); err != nil {
		return 0, err
	}
	return f.inner.Size()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.check(vfs.OpTruncate, f.name); err != nil {
		return err
	}
	err := f.inner.Truncate(size)
	if err == nil {
		// Pages past the new end are gone, lost or not; bytes written there
		// later are new pages.
		f.fs.mu.Lock()
		var kept []lossAt
		for _, l := range f.fs.lost[f.name] {
			if l.from < size {
				kept = append(kept, lossAt{l.from, min(l.to, size)})
			}
		}
		f.fs.lost[f.name] = kept
		f.fs.synced[f.name] = min(f.fs.synced[f.name], size)
		f.fs.mu.Unlock()
	}
	return err
}

// Close releases the inner file even when it fails, as a real close does.
func (f *faultFile) Close() error {
	err := f.fs.check(vfs.OpClose, f.name)
	if cerr := f.inner.Close(); err == nil {
		err = cerr
	}
	return err
}
