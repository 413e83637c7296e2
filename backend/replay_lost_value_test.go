package backend_test

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// newestLog returns the name of the newest log segment of dir and its
// bytes as the file system holds them now, unsynced ones included.
func newestLog(t *testing.T, fs *vfs.MemFS, dir string) (string, []byte) {
	t.Helper()
	names, err := fs.List(dir)
	must(t, err)
	newest := ""
	for _, n := range names {
		if strings.HasSuffix(n, ".wal") {
			newest = n
		}
	}
	f, err := fs.Open(filepath.Join(dir, newest))
	must(t, err)
	defer f.Close()
	size, err := f.Size()
	must(t, err)
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return filepath.Join(dir, newest), data
}

// writeDurably replaces the file name with data and makes it durable.
func writeDurably(t *testing.T, fs *vfs.MemFS, name string, data []byte) {
	t.Helper()
	w, err := fs.Create(name)
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	must(t, w.Sync())
	must(t, w.Close())
	must(t, fs.SyncDir(filepath.Dir(name)))
}

// TestReplayStopAtLostValueIsDurable was found while checking the fix for
// TestFailedSyncIsNotTrustedAfterReopen. A power loss can keep the log
// record of an unsynced write but not its value in the value log (the
// kernel writes pages back in any order). Replay then stops at the record
// whose value is lost, which is right, but it leaves the record in the log:
// the reopened store appends new values at the same value-log offsets and
// new records to a newer segment, so the next replay either resolves the
// stale pointer to another key's value (a wrong value, silently), or stops
// at it again and drops every acknowledged write after it.
func TestReplayStopAtLostValueIsDurable(t *testing.T) {
	mem := vfs.NewMem()
	cfg := faultConfig{valueStore: "vlog"}
	o := faultOptions(mem, cfg)
	val := strings.Repeat("v", 200) // separated by the value log
	db, err := backend.Open("/db", o)
	must(t, err)
	must(t, db.Set([]byte("a"), []byte("A"+val), &backend.WriteOptions{Sync: true}))
	must(t, db.Set([]byte("b"), []byte("B"+val), nil)) // not synced

	// The power fails; the log page with b's record reached the disk, the
	// value-log page with b's value did not.
	name, data := newestLog(t, mem, "/db")
	rec := mem.Crash()
	writeDurably(t, rec, name, data)
	_ = db.Close()

	ro := faultOptions(rec, cfg)
	db, err = backend.Open("/db", ro)
	must(t, err)
	if v, err := db.Get([]byte("b")); err == nil {
		t.Fatalf("b, whose value was lost, reads %q", v)
	}
	must(t, db.Set([]byte("c"), []byte("C"+val), &backend.WriteOptions{Sync: true}))
	must(t, db.Close())

	db = openTest(t, "/db", ro)
	expectGet(t, db, "a", "A"+val)
	expectGet(t, db, "c", "C"+val)
	if v, err := db.Get([]byte("b")); err == nil {
		t.Fatalf("b, whose value was lost, reads %q", v)
	}
}

// TestFlushSyncsValuesItsTablesPointAt was found by
// TestRepeatedCrashesWithTornWrites (value store vlog, seed 27): a flush
// wrote a table pointing at the values of unsynced writes and recorded it
// (with a log checkpoint past their records) without syncing the value log.
// A power loss then kept the table but not the values: the keys read as
// corruption ("value pointer ... is outside the records of the segment")
// and Check failed, while the log that could have told the story was
// already released. A flush must sync the value store before its manifest
// edit.
func TestFlushSyncsValuesItsTablesPointAt(t *testing.T) {
	mem := vfs.NewMem()
	cfg := faultConfig{valueStore: "vlog"}
	val := strings.Repeat("v", 200) // separated by the value log
	db, err := backend.Open("/db", faultOptions(mem, cfg))
	must(t, err)
	must(t, db.Set([]byte("a"), []byte("A"+val), &backend.WriteOptions{Sync: true}))
	must(t, db.Set([]byte("b"), []byte("B"+val), nil)) // not synced
	must(t, db.Flush())
	rec := mem.Crash()
	_ = db.Close()

	db = openTest(t, "/db", faultOptions(rec, cfg))
	expectGet(t, db, "a", "A"+val)
	if v, err := db.Get([]byte("b")); err != nil && !errors.Is(err, iface.ErrNotFound) {
		t.Fatalf("b: %v", err)
	} else if err == nil && string(v) != "B"+val {
		t.Fatalf("b = %q", v)
	}
}
