package backend_test

import (
	"bytes"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/vfs"
)

// TestReopenReplaysBatchLargerThanMemtable was found by `nokv stress`
// (seed 11, cycle 13): a commit group larger than a memtable is logged (the
// write path gives it an empty memtable of its own size), but replay put the
// first record after the checkpoint into a memtable of the configured size,
// so the skiplist arena ran out and Open failed with "memtable full": the
// store could not be opened until the memtable size was raised.
func TestReopenReplaysBatchLargerThanMemtable(t *testing.T) {
	for _, memtable := range []string{"skiplist", "btree"} {
		t.Run(memtable, func(t *testing.T) {
			fs := vfs.NewMem()
			o := smallOptions(fs)
			o.DisableBackgroundWork = true
			policy := o.CompactionPolicy
			if _, err := registry.Builtin().Resolve(registry.Config{Memtable: memtable}, o); err != nil {
				t.Fatal(err)
			}
			o.CompactionPolicy = policy
			db, err := backend.Open("/db", o)
			must(t, err)
			big := bytes.Repeat([]byte("v"), 3*int(o.MemtableSize))
			must(t, db.Set([]byte("big"), big, &backend.WriteOptions{Sync: true}))
			must(t, db.Set([]byte("small"), []byte("x"), &backend.WriteOptions{Sync: true}))
			must(t, db.Close()) // the log is replayed at the next Open
			for _, bg := range []bool{false, true} {
				o.DisableBackgroundWork = !bg
				db = openTest(t, "/db", o)
				expectGet(t, db, "big", string(big))
				expectGet(t, db, "small", "x")
				must(t, db.Close())
			}
		})
	}
}
