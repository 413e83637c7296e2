package backend

import "github.com/nokv/nokv/iface"

// SetTestHookBeforeCompaction makes f run before each compaction of db is
// carried out, with its tables already busy: a test can hold compactions
// back while the policy still plans them.
func (db *DB) SetTestHookBeforeCompaction(f func()) {
	g := func(*iface.CompactionPlan) { f() }
	db.testHookBeforeCompaction.Store(&g)
}
