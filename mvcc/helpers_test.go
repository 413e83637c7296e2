package mvcc_test

import (
	"errors"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// openStore opens an engine on an in-memory FS with small memtables and
// tables, so tests cross flushes and compactions quickly. The store is
// closed and checked when the test ends.
func openStore(t testing.TB) *backend.DB {
	t.Helper()
	db, closeStore := newStore(t)
	t.Cleanup(closeStore)
	return db
}

// newStore opens a store like openStore and returns the function that closes
// and checks it (for property tests that make many stores in one test).
func newStore(t testing.TB) (*backend.DB, func()) {
	t.Helper()
	fs := vfs.NewMem()
	o := &backend.Options{
		FS:               fs,
		MemtableSize:     64 << 10,
		TargetTableSize:  16 << 10,
		LogSegmentSize:   64 << 10,
		BlockCacheSize:   1 << 20,
		Logger:           hclog.NewNullLogger(),
		CompactionPolicy: leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4}),
	}
	db, err := backend.Open("/db", o)
	if err != nil {
		t.Fatal(err)
	}
	return db, func() {
		if err := db.Close(); err != nil && !errors.Is(err, iface.ErrClosed) {
			t.Errorf("close: %v", err)
		}
		for _, p := range backend.Check("/db", o) {
			t.Errorf("check: %v", p)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
