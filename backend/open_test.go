package backend_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
	"github.com/nokv/nokv/vlog"
)

func TestOpenFileInsteadOfDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(p, []byte("not a store"), 0o644))
	if _, err := backend.Open(p, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("open of a file: %v", err)
	}
}

func TestOpenLockedDir(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	_ = db
	if _, err := backend.Open(dir, nil); !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("second open in one process: %v", err)
	}
}

// TestOpenLockedByOtherProcess holds the lock from a child process (this
// test binary, re-executed) and checks that Open refuses the directory.
func TestOpenLockedByOtherProcess(t *testing.T) {
	if dir := os.Getenv("NOKV_TEST_HOLD_LOCK"); dir != "" {
		db, err := backend.Open(dir, nil)
		if err != nil {
			fmt.Println("child open:", err)
			os.Exit(2)
		}
		fmt.Println("locked")
		os.Stdin.Read(make([]byte, 1)) // hold until the parent closes stdin
		db.Close()
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenLockedByOtherProcess$")
	cmd.Env = append(os.Environ(), "NOKV_TEST_HOLD_LOCK="+dir)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	buf := make([]byte, 64)
	n, _ := stdout.Read(buf)
	if !bytes.Contains(buf[:n], []byte("locked")) {
		t.Fatalf("child did not take the lock: %q", buf[:n])
	}
	_, err = backend.Open(dir, nil)
	stdin.Close()
	cmd.Wait()
	if !errors.Is(err, vfs.ErrLocked) {
		t.Fatalf("open of a directory another process holds: %v", err)
	}
}

func TestOpenIncompatibleComponents(t *testing.T) {
	dir := t.TempDir()
	db, err := backend.Open(dir, nil)
	must(t, err)
	must(t, db.Close())
	o := &backend.Options{NewValueStore: func(iface.ValueStoreOptions) (iface.ValueStore, error) { return otherFormat{}, nil }}
	_, err = backend.Open(dir, o)
	if !errors.Is(err, iface.ErrIncompatible) || !strings.Contains(err.Error(), "valuestore") {
		t.Fatalf("open with another value-store format: %v", err)
	}
}

type otherFormat struct{ iface.ValueStore }

func (otherFormat) Name() string { return "other/v9" }
func (otherFormat) Close() error { return nil }

// fillAndFlush makes a store with tables, log segments, a manifest and a
// value log (values above smallOptions' 64-byte threshold are separated).
func fillAndFlush(t *testing.T, dir string) {
	o := smallOptions(nil)
	o.NewValueStore = vlog.New
	db, err := backend.Open(dir, o)
	must(t, err)
	for i := 0; i < 3000; i++ {
		must(t, db.Set(key(i), bytes.Repeat([]byte{byte(i)}, 50+i%100), nil))
	}
	must(t, db.Flush())
	for i := 0; i < 50; i++ {
		must(t, db.Set(key(i), []byte("tail"), nil))
	}
	must(t, db.Close())
}

// storeFiles lists the files of a store (relative paths), LOCK excepted.
func storeFiles(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, rel)
		return err
	})
	must(t, err)
	return out
}

// TestCheckFindsFlippedBytes flips single bytes in every kind of file and
// expects Check to name the file (and, for record and block damage, an
// offset), and Open never to panic.
func TestCheckFindsFlippedBytes(t *testing.T) {
	src := t.TempDir()
	fillAndFlush(t, src)
	if p := backend.Check(src, smallOptions(nil)); len(p) != 0 {
		t.Fatalf("fresh store: %v", p)
	}
	files := storeFiles(t, src)
	kinds := map[string]bool{}
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(src, name))
		must(t, err)
		base := filepath.Base(name)
		kind := filepath.Ext(base)
		if strings.HasPrefix(base, "MANIFEST") || base == "CURRENT" {
			kind = base[:7]
		}
		if base == "DISCARD" {
			kind = base
		}
		kinds[kind] = true
		step := max(1, len(data)/60)
		for off := 0; off < len(data); off += step {
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, "vlog"), 0o755))
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(src, f))
				must(t, err)
				must(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
			}
			bad := bytes.Clone(data)
			bad[off] ^= 0x5a
			must(t, os.WriteFile(filepath.Join(dir, name), bad, 0o644))
			problems := backend.Check(dir, smallOptions(nil))
			if len(problems) == 0 {
				t.Fatalf("flip of byte %d in %s went unnoticed", off, name)
			}
			if !strings.Contains(fmt.Sprint(problems), base) && base != "CURRENT" {
				t.Fatalf("flip of byte %d in %s: problems do not name the file: %v", off, name, problems)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Open panicked on a flip of byte %d in %s: %v", off, name, r)
					}
				}()
				if db, err := backend.Open(dir, smallOptions(nil)); err == nil {
					db.Close()
				}
			}()
		}
	}
	for _, k := range []string{".sst", ".wal", "MANIFES", "CURRENT", ".vlog"} {
		if !kinds[k] {
			t.Errorf("the store had no %s file to damage: %v", k, kinds)
		}
	}
}

// TestReopenKeepsValueStore: a store written with the value log reopens
// with it when the options name no value store.
func TestReopenKeepsValueStore(t *testing.T) {
	dir := t.TempDir()
	o := smallOptions(nil)
	o.NewValueStore = vlog.New
	db, err := backend.Open(dir, o)
	must(t, err)
	must(t, db.Set([]byte("k"), bytes.Repeat([]byte("v"), 2000), nil))
	must(t, db.Close())
	db = openTest(t, dir, nil)
	if name := db.ValueStore().Name(); name != vlog.Name {
		t.Fatalf("reopened with value store %s", name)
	}
	expectGet(t, db, "k", string(bytes.Repeat([]byte("v"), 2000)))
}
