package manifest

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/nokv/nokv/vfs"
)

var errInjected = errors.New("injected fault")

// faultFS fails the mutating operation number failAt (counting from 0) and
// every one after it, as if the process died there: what was written stays
// on disk, and a failing Write leaves the first half of its bytes (a torn
// append). Reads keep working.
type faultFS struct {
	vfs.FS
	mu     sync.Mutex
	n      int
	failAt int
}

func (f *faultFS) step() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n > f.failAt {
		return errInjected
	}
	return nil
}

func (f *faultFS) Create(name string) (vfs.File, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	file, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) OpenAppend(name string) (vfs.File, error) {
	if err := f.step(); err != nil {
		return nil, err
	}
	file, err := f.FS.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Remove(name string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

func (f *faultFS) Rename(oldname, newname string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.FS.Rename(oldname, newname)
}

func (f *faultFS) MkdirAll(dir string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.FS.MkdirAll(dir)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.step(); err != nil {
		return err
	}
	return f.FS.SyncDir(dir)
}

type faultFile struct {
	vfs.File
	fs *faultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.step(); err != nil {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.step(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	if err := f.fs.step(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

// TestFaultAtEveryOperation stops the file system at every mutating
// operation of a run that creates a store and applies edits through several
// rewrites, then reopens the directory with a healthy file system. The store
// must open to the state after the last acknowledged edit (or, if the fault
// hit the edit being applied, possibly the state after it), leave only
// CURRENT and one manifest behind, and a manifest that saw a failure must
// refuse further edits.
func TestFaultAtEveryOperation(t *testing.T) {
	var edits []*Edit
	for i := uint64(1); i <= 16; i++ {
		e := &Edit{AddTables: []TableEntry{{Level: 1, Meta: meta(i, "k", "l")}}, NextFileNum: i + 1, LastVersion: 10 * i}
		if i > 1 {
			e.DeleteTables = []TableRef{{1, i - 1}}
		}
		edits = append(edits, e)
	}
	states := statesAfter(t, edits)
	opts := Options{MaxSize: 200}
	base := t.TempDir()
	rewrites, failAt := 0, 0
	for ; ; failAt++ {
		dir := filepath.Join(base, fmt.Sprint(failAt))
		ffs := &faultFS{FS: vfs.Default, failAt: failAt}
		acked := 0
		if m, err := Open(ffs, dir, opts); err == nil {
			names := map[string]bool{}
			for _, e := range edits {
				if err = m.Apply(e); err != nil {
					break
				}
				acked++
				names[m.FileName()] = true
			}
			if err != nil {
				if err2 := m.Apply(edits[len(edits)-1]); err2 == nil {
					t.Fatalf("fault at op %d: Apply succeeded after an earlier failure (%v)", failAt, err)
				}
			}
			m.Close()
			rewrites = max(rewrites, len(names)-1)
		}
		done := ffs.n <= failAt

		m, err := Open(vfs.Default, dir, opts)
		if err != nil {
			t.Fatalf("fault at op %d (%d edits acknowledged): reopen: %v", failAt, acked, err)
		}
		got := m.State()
		m.Close()
		if !reflect.DeepEqual(got, states[acked]) && (acked == len(edits) || !reflect.DeepEqual(got, states[acked+1])) {
			t.Fatalf("fault at op %d: reopened to %+v after %d acknowledged edits, want %+v", failAt, got, acked, states[acked])
		}
		if err := Verify(vfs.Default, dir); err != nil {
			t.Fatalf("fault at op %d: verify after reopen: %v", failAt, err)
		}
		if files := listDir(t, dir); len(files) != 2 || files[0] != "CURRENT" {
			t.Fatalf("fault at op %d: files after reopen = %v", failAt, files)
		}
		if done {
			break
		}
	}
	t.Logf("%d fault points, up to %d rewrites", failAt+1, rewrites)
	if rewrites < 3 {
		t.Fatalf("the run rewrote the manifest only %d times; faults during rewrites are not covered", rewrites)
	}
}
