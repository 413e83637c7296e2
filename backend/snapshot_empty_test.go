package backend_test

import (
	"errors"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// TestSnapshotOfEmptyStore checks that a snapshot taken before the first
// write stays empty: version 0 must not read as "the newest".
func TestSnapshotOfEmptyStore(t *testing.T) {
	db := openTest(t, "/db", smallOptions(vfs.NewMem()))
	snap := db.NewSnapshot()
	defer snap.Release()
	must(t, db.Set([]byte("k"), []byte("v"), nil))
	if _, err := snap.Get([]byte("k")); !errors.Is(err, iface.ErrNotFound) {
		t.Fatalf("snapshot of the empty store reads a later write: %v", err)
	}
	it, err := snap.NewIterator(nil)
	must(t, err)
	defer it.Close()
	if it.First() || it.Last() || it.Seek([]byte("k")) {
		t.Fatalf("snapshot of the empty store iterates over %q", it.Key())
	}
}
