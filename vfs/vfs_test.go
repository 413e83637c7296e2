package vfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fsCase is one FS under the conformance suite, with the directory the suite
// works in.
type fsCase struct {
	name string
	open func(t *testing.T) (FS, string)
}

var fsCases = []fsCase{
	{"os", func(t *testing.T) (FS, string) { return Default, t.TempDir() }},
	{"mem", func(t *testing.T) (FS, string) {
		m := NewMem()
		if err := m.MkdirAll("/db"); err != nil {
			t.Fatal(err)
		}
		return m, "/db"
	}},
	{"errorfs-mem", func(t *testing.T) (FS, string) {
		m := NewMem()
		if err := m.MkdirAll("/db"); err != nil {
			t.Fatal(err)
		}
		return NewErrorFS(m, nil), "/db"
	}},
}

// TestConformance runs the FS contract over every implementation.
func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, fs FS, dir string)
	}{
		{"WriteReadSize", testWriteReadSize},
		{"ReadAtShortIsEOF", testReadAtEOF},
		{"Truncate", testTruncate},
		{"OpenAppend", testOpenAppend},
		{"CreateTruncatesExisting", testCreateTruncates},
		{"RenameReplaces", testRenameReplaces},
		{"RenameDirectories", testRenameDirs},
		{"RemoveAndList", testRemoveList},
		{"MkdirAllAndStat", testMkdirStat},
		{"OpenMissing", testOpenMissing},
		{"Lock", testLock},
		{"OpenReadOnly", testOpenReadOnly},
	}
	for _, c := range fsCases {
		t.Run(c.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					fs, dir := c.open(t)
					tc.fn(t, fs, dir)
				})
			}
		})
	}
}

func mustCreate(t *testing.T, fs FS, name string, data string) File {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeFile(t *testing.T, fs FS, name string, data string) {
	t.Helper()
	f := mustCreate(t, fs, name, data)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, fs FS, name string) string {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantSize(t *testing.T, f File, want int64) {
	t.Helper()
	if n, err := f.Size(); err != nil || n != want {
		t.Fatalf("Size = %d, %v; want %d", n, err, want)
	}
}

func testWriteReadSize(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "a")
	f := mustCreate(t, fs, name, "hello ")
	if _, err := f.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	wantSize(t, f, 11)
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 6); n != 5 || err != nil || string(buf) != "world" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fs, name); got != "hello world" {
		t.Fatalf("read back %q", got)
	}
}

func testReadAtEOF(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "a")
	writeFile(t, fs, name, "abc")
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 1); n != 2 || err != io.EOF || string(buf[:n]) != "bc" {
		t.Fatalf("short ReadAt = %d, %v, %q; want 2, EOF", n, err, buf[:n])
	}
	if n, err := f.ReadAt(buf, 3); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at end = %d, %v; want 0, EOF", n, err)
	}
	if n, err := f.ReadAt(buf, 100); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past end = %d, %v; want 0, EOF", n, err)
	}
}

func testTruncate(t *testing.T, fs FS, dir string) {
	f := mustCreate(t, fs, filepath.Join(dir, "a"), "0123456789")
	defer f.Close()
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	wantSize(t, f, 4)
	if err := f.Truncate(6); err != nil {
		t.Fatal(err)
	}
	wantSize(t, f, 6)
	buf := make([]byte, 6)
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, []byte("0123\x00\x00")) {
		t.Fatalf("after truncate: %q, %v", buf, err)
	}
	// Write appends at the new end, not at the old write offset (as a WAL does
	// after cutting a torn tail).
	if err := f.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	wantSize(t, f, 4)
	buf = buf[:4]
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "01ab" {
		t.Fatalf("write after truncate: %q, %v", buf, err)
	}
}

func testOpenAppend(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "a")
	writeFile(t, fs, name, "abc")
	f, err := fs.OpenAppend(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("def")); err != nil {
		t.Fatal(err)
	}
	wantSize(t, f, 6)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fs, name); got != "abcdef" {
		t.Fatalf("got %q", got)
	}
	if _, err := fs.OpenAppend(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenAppend missing: %v", err)
	}
}

func testCreateTruncates(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "a")
	writeFile(t, fs, name, "old contents")
	writeFile(t, fs, name, "new")
	if got := readFile(t, fs, name); got != "new" {
		t.Fatalf("got %q", got)
	}
}

func testRenameReplaces(t *testing.T, fs FS, dir string) {
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeFile(t, fs, a, "from a")
	writeFile(t, fs, b, "from b")
	if err := fs.Rename(a, b); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fs, b); got != "from a" {
		t.Fatalf("b = %q", got)
	}
	if _, err := fs.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat(a) after rename: %v", err)
	}
	if err := fs.Rename(a, b); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Rename missing: %v", err)
	}
}

func testRenameDirs(t *testing.T, fs FS, dir string) {
	a, b, f := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "f")
	if err := fs.MkdirAll(filepath.Join(a, "sub")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, filepath.Join(a, "sub", "x"), "x")
	writeFile(t, fs, f, "f")
	if err := fs.Rename(a, filepath.Join(a, "sub", "a")); err == nil {
		t.Fatal("moving a directory below itself succeeded")
	}
	if err := fs.Rename(f, a); err == nil {
		t.Fatal("renaming a file over a directory succeeded")
	}
	if err := fs.Rename(a, f); err == nil {
		t.Fatal("renaming a directory over a file succeeded")
	}
	if err := fs.MkdirAll(filepath.Join(b, "full")); err != nil {
		t.Fatal(err)
	}
	if err := fs.Rename(a, b); err == nil {
		t.Fatal("renaming a directory over a directory succeeded")
	}
	if err := fs.Rename(a, filepath.Join(b, "moved")); err != nil {
		t.Fatalf("renaming a directory: %v", err)
	}
	if got := readFile(t, fs, filepath.Join(b, "moved", "sub", "x")); got != "x" {
		t.Fatalf("moved file reads %q", got)
	}
}

func testRemoveList(t *testing.T, fs FS, dir string) {
	for _, n := range []string{"c", "a", "d", "b"} {
		writeFile(t, fs, filepath.Join(dir, n), n)
	}
	if err := fs.MkdirAll(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "d", "sub"}; !slices.Equal(names, want) {
		t.Fatalf("List = %v, want %v", names, want)
	}
	if err := fs.Remove(filepath.Join(dir, "c")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Remove missing: %v", err)
	}
	writeFile(t, fs, filepath.Join(dir, "sub", "x"), "x")
	if err := fs.Remove(filepath.Join(dir, "sub")); err == nil {
		t.Fatal("Remove of a non-empty directory succeeded")
	}
	if err := fs.Remove(filepath.Join(dir, "sub", "x")); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(filepath.Join(dir, "sub")); err != nil {
		t.Fatalf("Remove of an empty directory: %v", err)
	}
	if _, err := fs.List(filepath.Join(dir, "sub")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("List missing: %v", err)
	}
}

func testMkdirStat(t *testing.T, fs FS, dir string) {
	deep := filepath.Join(dir, "x", "y", "z")
	if err := fs.MkdirAll(deep); err != nil {
		t.Fatal(err)
	}
	if err := fs.MkdirAll(deep); err != nil {
		t.Fatalf("MkdirAll of an existing dir: %v", err)
	}
	st, err := fs.Stat(deep)
	if err != nil || !st.IsDir() || st.Name() != "z" {
		t.Fatalf("Stat dir = %v, %v", st, err)
	}
	name := filepath.Join(deep, "f")
	writeFile(t, fs, name, "12345")
	st, err = fs.Stat(name)
	if err != nil || st.IsDir() || st.Size() != 5 || st.Name() != "f" {
		t.Fatalf("Stat file = %v, %v", st, err)
	}
	if err := fs.MkdirAll(filepath.Join(name, "sub")); err == nil {
		t.Fatal("MkdirAll through a file succeeded")
	}
	if err := fs.SyncDir(deep); err != nil {
		t.Fatal(err)
	}
}

func testOpenMissing(t *testing.T, fs FS, dir string) {
	if _, err := fs.Open(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open missing: %v", err)
	}
	if _, err := fs.Stat(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat missing: %v", err)
	}
	if _, err := fs.Create(filepath.Join(dir, "nodir", "f")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Create in a missing dir: %v", err)
	}
}

func testLock(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "LOCK")
	l, err := fs.Lock(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Lock(name); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	if _, err := fs.Stat(name); err != nil {
		t.Fatalf("Lock did not create the file: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2, err := fs.Lock(name)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	l2.Close()
}

func testOpenReadOnly(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "a")
	writeFile(t, fs, name, "abc")
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("Write on a file opened with Open succeeded")
	}
	wantSize(t, f, 3)
}
