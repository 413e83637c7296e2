package vfs

import (
	"errors"
	"io/fs"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// errWorkload touches every kind of operation once or more.
func errWorkload(e FS) error {
	if err := e.MkdirAll("/db"); err != nil {
		return err
	}
	f, err := e.Create("/db/a")
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte("abc")); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := e.SyncDir("/db"); err != nil {
		return err
	}
	if err := e.Rename("/db/a", "/db/b"); err != nil {
		return err
	}
	r, err := e.Open("/db/b")
	if err != nil {
		return err
	}
	defer r.Close()
	buf := make([]byte, 3)
	if _, err := r.ReadAt(buf, 0); err != nil {
		return err
	}
	_, err = e.List("/db")
	return err
}

func TestErrorFSFailEveryOp(t *testing.T) {
	counter := NewErrorFS(NewMem(), nil)
	if err := errWorkload(counter); err != nil {
		t.Fatal(err)
	}
	n := counter.Ops()
	if n != 11 { // mkdir, create, write, sync, close, syncdir, rename, open, read, list, close
		t.Fatalf("Ops = %d, want 11", n)
	}
	for i := int64(1); i <= n; i++ {
		e := NewErrorFS(NewMem(), FailNth(i, nil))
		err := errWorkload(e)
		if i == n {
			// The last op is the deferred Close of the reader, whose error the
			// workload drops; the failure must still have been counted.
			if err != nil || e.Ops() != n {
				t.Fatalf("op %d: err %v, ops %d", i, err, e.Ops())
			}
			continue
		}
		if !errors.Is(err, ErrInjected) {
			t.Fatalf("op %d: workload err = %v, want ErrInjected", i, err)
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path == "" {
			t.Fatalf("op %d: injected error does not name the file: %v", i, err)
		}
	}
}

func TestErrorFSFailNthRestricted(t *testing.T) {
	e := NewErrorFS(NewMem(), FailNth(2, syscall.ENOSPC, OpWrite, OpSync))
	if err := e.MkdirAll("/db"); err != nil {
		t.Fatal(err)
	}
	f, err := e.Create("/db/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil { // write/sync op 1
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("y")); !errors.Is(err, syscall.ENOSPC) { // op 2
		t.Fatalf("second write: %v, want ENOSPC", err)
	}
	if err := f.Sync(); err != nil { // op 3: only the n-th fails
		t.Fatal(err)
	}
	if got := e.OpsOf(OpWrite, OpSync); got != 3 {
		t.Fatalf("OpsOf(write, sync) = %d, want 3", got)
	}
	if size, _ := f.Size(); size != 1 {
		t.Fatalf("the failed write happened: size %d", size)
	}
}

func TestErrorFSFailWhenAndSwap(t *testing.T) {
	m := NewMem()
	e := NewErrorFS(m, FailWhen(func(op Op, name string) bool {
		return op == OpSyncDir || strings.HasSuffix(name, ".sst")
	}, nil))
	if err := e.MkdirAll("/db"); err != nil {
		t.Fatal(err)
	}
	if err := e.SyncDir("/db"); !errors.Is(err, ErrInjected) {
		t.Fatalf("SyncDir: %v", err)
	}
	if _, err := e.Create("/db/1.sst"); !errors.Is(err, ErrInjected) {
		t.Fatalf("Create sst: %v", err)
	}
	if _, err := e.Create("/db/1.log"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stat("/db/1.sst"); err == nil {
		t.Fatal("the failed Create happened")
	}
	e.SetInjector(nil)
	if err := e.SyncDir("/db"); err != nil {
		t.Fatalf("after SetInjector(nil): %v", err)
	}
}

func TestErrorFSCloseReleasesInner(t *testing.T) {
	m := NewMem()
	e := NewErrorFS(m, FailWhen(func(op Op, _ string) bool { return op == OpClose }, nil))
	f, err := e.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Close: %v", err)
	}
	e.SetInjector(nil)
	if err := f.Close(); err == nil {
		t.Fatal("inner file was not closed by the failed Close")
	}
}

func TestErrorFSConcurrentSwap(t *testing.T) {
	e := NewErrorFS(NewMem(), nil)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 500 {
			if i%2 == 0 {
				e.SetInjector(FailNth(1, nil))
			} else {
				e.SetInjector(nil)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 500 {
			e.Stat("/")
		}
	}()
	wg.Wait()
	if e.Ops() != 500 || e.OpsOf(OpStat) != 500 {
		t.Fatalf("Ops = %d", e.Ops())
	}
}

func TestOpString(t *testing.T) {
	for op := OpCreate; op < numOps; op++ {
		if s := op.String(); s == "" || strings.HasPrefix(s, "Op(") {
			t.Errorf("op %d has no name", op)
		}
	}
	if s := Op(99).String(); s != "Op(99)" {
		t.Errorf("Op(99) = %q", s)
	}
}
