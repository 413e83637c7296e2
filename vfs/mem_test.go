package vfs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

func newMemDir(t *testing.T) *MemFS {
	t.Helper()
	m := NewMem()
	if err := m.MkdirAll("/db"); err != nil {
		t.Fatal(err)
	}
	return m
}

// contents returns the file's bytes, or "<missing>".
func contents(t *testing.T, m *MemFS, name string) string {
	t.Helper()
	if _, err := m.Stat(name); errors.Is(err, os.ErrNotExist) {
		return "<missing>"
	}
	return readFile(t, m, name)
}

func TestMemCrashDropsUnsyncedData(t *testing.T) {
	m := newMemDir(t)
	f := mustCreate(t, m, "/db/a", "synced")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(" unsynced")); err != nil {
		t.Fatal(err)
	}
	r := m.Crash()
	if got := contents(t, r, "/db/a"); got != "synced" {
		t.Fatalf("after crash: %q, want %q", got, "synced")
	}
	// A truncation not synced is undone as well.
	f2, err := r.OpenAppend("/db/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := f2.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, r.Crash(), "/db/a"); got != "synced" {
		t.Fatalf("unsynced truncate survived: %q", got)
	}
}

func TestMemCrashKeepsSyncedData(t *testing.T) {
	m := newMemDir(t)
	writeFile(t, m, "/db/a", "hello")
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	r := m.Crash()
	if got := contents(t, r, "/db/a"); got != "hello" {
		t.Fatalf("after crash: %q", got)
	}
	if !m.Crashed() || r.Crashed() || m.Recovered() != r {
		t.Fatal("Crashed/Recovered disagree with Crash")
	}
	// The recovered FS is fully usable, including appending to the file.
	f, err := r.OpenAppend("/db/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(" again")); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, r, "/db/a"); got != "hello again" {
		t.Fatalf("recovered FS: %q", got)
	}
}

func TestMemCrashDropsUnsyncedEntry(t *testing.T) {
	m := newMemDir(t)
	writeFile(t, m, "/db/a", "data") // file synced, directory not
	r := m.Crash()
	if got := contents(t, r, "/db/a"); got != "<missing>" {
		t.Fatalf("unsynced entry survived: %q", got)
	}
	if _, err := r.Stat("/db"); err != nil {
		t.Fatalf("MkdirAll'd directory lost: %v", err)
	}
}

func TestMemCrashSyncedEntryUnsyncedData(t *testing.T) {
	m := newMemDir(t)
	mustCreate(t, m, "/db/a", "data")
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, m.Crash(), "/db/a"); got != "" {
		t.Fatalf("got %q, want an empty file", got)
	}
}

func TestMemRenameDurableAfterSyncDir(t *testing.T) {
	setup := func() *MemFS {
		m := newMemDir(t)
		writeFile(t, m, "/db/CURRENT", "old")
		writeFile(t, m, "/db/tmp", "new")
		if err := m.SyncDir("/db"); err != nil {
			t.Fatal(err)
		}
		if err := m.Rename("/db/tmp", "/db/CURRENT"); err != nil {
			t.Fatal(err)
		}
		return m
	}
	r := setup().Crash()
	if got := contents(t, r, "/db/CURRENT"); got != "old" {
		t.Fatalf("rename without SyncDir: CURRENT = %q, want old", got)
	}
	if got := contents(t, r, "/db/tmp"); got != "new" {
		t.Fatalf("rename without SyncDir: tmp = %q, want new", got)
	}

	m := setup()
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	r = m.Crash()
	if got := contents(t, r, "/db/CURRENT"); got != "new" {
		t.Fatalf("rename with SyncDir: CURRENT = %q, want new", got)
	}
	if got := contents(t, r, "/db/tmp"); got != "<missing>" {
		t.Fatalf("rename with SyncDir: tmp = %q, want missing", got)
	}
}

func TestMemRemoveDurableAfterSyncDir(t *testing.T) {
	m := newMemDir(t)
	writeFile(t, m, "/db/a", "a")
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("/db/a"); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, m.Crash(), "/db/a"); got != "a" {
		t.Fatalf("unsynced remove took effect: %q", got)
	}
}

func TestMemDirRenameDurableAfterSyncDir(t *testing.T) {
	m := newMemDir(t)
	if err := m.MkdirAll("/db/tmp"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/db/tmp/x", "x")
	if err := m.SyncDir("/db/tmp"); err != nil {
		t.Fatal(err)
	}
	if err := m.Rename("/db/tmp", "/db/snap"); err != nil {
		t.Fatal(err)
	}
	r := m.Crash()
	if got := contents(t, r, "/db/tmp/x"); got != "x" {
		t.Fatalf("unsynced dir rename took effect: tmp/x = %q", got)
	}
	if got := contents(t, r, "/db/snap/x"); got != "<missing>" {
		t.Fatalf("unsynced dir rename took effect: snap/x = %q", got)
	}
}

// TestMemCrashSharedInode covers a file moved between directories with only
// the destination synced: it is durable under both names, as one inode.
func TestMemCrashSharedInode(t *testing.T) {
	m := newMemDir(t)
	if err := m.MkdirAll("/db/b"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/db/a", "v")
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	if err := m.Rename("/db/a", "/db/b/a"); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/db/b"); err != nil {
		t.Fatal(err)
	}
	r := m.Crash()
	f, err := r.OpenAppend("/db/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("w")); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, r, "/db/b/a"); got != "vw" {
		t.Fatalf("b/a = %q, want the same inode as a", got)
	}
}

// crashWorkload is a small store-like sequence of mutating ops: write a log,
// install a CURRENT file by rename.
func crashWorkload(m *MemFS) error {
	steps := []func() error{
		func() error { return m.MkdirAll("/db") },
		func() error {
			f, err := m.Create("/db/log")
			if err != nil {
				return err
			}
			for i := range 3 {
				if _, err := fmt.Fprintf(writerOf(f), "rec%d;", i); err != nil {
					return err
				}
				if err := f.Sync(); err != nil {
					return err
				}
			}
			return f.Close()
		},
		func() error {
			f, err := m.Create("/db/tmp")
			if err != nil {
				return err
			}
			if _, err := f.Write([]byte("v1")); err != nil {
				return err
			}
			return f.Sync()
		},
		func() error { return m.Rename("/db/tmp", "/db/CURRENT") },
		func() error { return m.SyncDir("/db") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

type fileWriter struct{ f File }

func (w fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }
func writerOf(f File) fileWriter                 { return fileWriter{f} }

func TestMemCrashAfterEveryOp(t *testing.T) {
	m := NewMem()
	if err := crashWorkload(m); err != nil {
		t.Fatal(err)
	}
	n := m.MutatingOps()
	if n != 13 { // mkdir, create, 3×(write, sync), create, write, sync, rename, syncdir
		t.Fatalf("MutatingOps = %d, want 13", n)
	}
	for i := int64(1); i <= n; i++ {
		m := NewMem()
		m.CrashAfter(i)
		err := crashWorkload(m)
		if !errors.Is(err, ErrCrashed) {
			t.Fatalf("op %d: workload err = %v, want ErrCrashed", i, err)
		}
		if got := m.MutatingOps(); got != i {
			t.Fatalf("op %d: crashed after %d ops", i, got)
		}
		r := m.Recovered()
		if r == nil || !m.Crashed() {
			t.Fatalf("op %d: no recovered state", i)
		}
		// Everything reachable must be a prefix of what was written, and
		// CURRENT, once durable, is complete.
		if cur := contents(t, r, "/db/CURRENT"); cur != "<missing>" && cur != "v1" {
			t.Fatalf("op %d: CURRENT = %q", i, cur)
		}
		if i == n {
			// The last op is the SyncDir that would publish everything.
			if got := contents(t, r, "/db/log"); got != "<missing>" {
				t.Fatalf("op %d: log = %q, want missing", i, got)
			}
		}
	}
	// Disarmed: the whole workload runs.
	m = NewMem()
	m.CrashAfter(3)
	m.CrashAfter(0)
	if err := crashWorkload(m); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, m.Crash(), "/db/log"); got != "rec0;rec1;rec2;" {
		t.Fatalf("log = %q", got)
	}
}

func TestMemCrashAfterOpDoesNotHappen(t *testing.T) {
	m := newMemDir(t)
	f := mustCreate(t, m, "/db/a", "x")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	m.CrashAfter(2)
	if _, err := f.Write([]byte("y")); err != nil { // op 1 happens
		t.Fatal(err)
	}
	if err := f.Sync(); !errors.Is(err, ErrCrashed) { // op 2 crashes instead
		t.Fatalf("Sync = %v, want ErrCrashed", err)
	}
	if got := contents(t, m.Recovered(), "/db/a"); got != "x" {
		t.Fatalf("the crashing Sync took effect: %q", got)
	}
}

func TestMemOldHandlesFailAfterCrash(t *testing.T) {
	m := newMemDir(t)
	f := mustCreate(t, m, "/db/a", "x")
	l, err := m.Lock("/db/LOCK")
	if err != nil {
		t.Fatal(err)
	}
	r := m.Crash()
	if m.Crash() != r {
		t.Fatal("second Crash returned a different state")
	}
	buf := make([]byte, 1)
	checks := map[string]error{
		"Write":    func() error { _, err := f.Write(buf); return err }(),
		"ReadAt":   func() error { _, err := f.ReadAt(buf, 0); return err }(),
		"Sync":     f.Sync(),
		"Size":     func() error { _, err := f.Size(); return err }(),
		"Truncate": f.Truncate(0),
		"Close":    f.Close(),
		"Unlock":   l.Close(),
		"Create":   func() error { _, err := m.Create("/db/b"); return err }(),
		"Open":     func() error { _, err := m.Open("/db/a"); return err }(),
		"List":     func() error { _, err := m.List("/db"); return err }(),
		"Stat":     func() error { _, err := m.Stat("/db"); return err }(),
		"SyncDir":  m.SyncDir("/db"),
		"MkdirAll": m.MkdirAll("/x"),
		"Lock":     func() error { _, err := m.Lock("/db/L2"); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrCrashed) {
			t.Errorf("%s after crash: %v, want ErrCrashed", name, err)
		}
	}
	// Locks are not carried over.
	l2, err := r.Lock("/db/LOCK")
	if err != nil {
		t.Fatalf("Lock on the recovered FS: %v", err)
	}
	l2.Close()
}

func TestMemTornWrites(t *testing.T) {
	const synced, tail = "SYNCED|", "0123456789abcdefghij"
	lengths := map[int]bool{}
	for seed := range uint64(40) {
		m := newMemDir(t)
		m.SetTornWrites(rand.New(rand.NewPCG(seed, 1)))
		f := mustCreate(t, m, "/db/a", synced)
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := m.SyncDir("/db"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(tail)); err != nil {
			t.Fatal(err)
		}
		got := contents(t, m.Crash(), "/db/a")
		if !strings.HasPrefix(synced+tail, got) || len(got) < len(synced) {
			t.Fatalf("seed %d: torn file %q is not synced data plus a prefix of the tail", seed, got)
		}
		lengths[len(got)] = true
	}
	if len(lengths) < 5 {
		t.Fatalf("torn lengths barely vary: %v", lengths)
	}

	// A file truncated since its last sync keeps only its synced bytes.
	m := newMemDir(t)
	m.SetTornWrites(rand.New(rand.NewPCG(1, 1)))
	f := mustCreate(t, m, "/db/a", "abcdef")
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/db"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("XYZWVU")); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, m.Crash(), "/db/a"); got != "abcdef" {
		t.Fatalf("rewritten file after torn crash: %q", got)
	}
}

func TestMemHandleSurvivesRemove(t *testing.T) {
	m := newMemDir(t)
	f := mustCreate(t, m, "/db/a", "abc")
	if err := m.Remove("/db/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("d")); err != nil {
		t.Fatal(err)
	}
	wantSize(t, f, 4)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
}

func TestMemPathsAreCleaned(t *testing.T) {
	m := newMemDir(t)
	writeFile(t, m, "/db//x/../a", "v")
	if got := contents(t, m, "db/a"); got != "v" {
		t.Fatalf("got %q", got)
	}
	if _, err := m.Open("/db"); err == nil {
		t.Fatal("Open of a directory succeeded")
	}
}

func TestMemConcurrent(t *testing.T) {
	m := newMemDir(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("/db/f%d", g)
			f, err := m.Create(name)
			if err != nil {
				t.Error(err)
				return
			}
			buf := make([]byte, 8)
			for i := range 200 {
				if _, err := f.Write([]byte("12345678")); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					f.Sync()
					m.SyncDir("/db")
				}
				if _, err := f.ReadAt(buf, int64(i*8)); err != nil {
					t.Error(err)
					return
				}
				m.List("/db")
			}
		}()
	}
	wg.Wait()
	if got := m.MutatingOps(); got < 4*200 {
		t.Fatalf("MutatingOps = %d", got)
	}
}
