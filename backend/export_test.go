package backend

// SetTestHookBeforeCompaction makes f run before each compaction of db is
// carried out, with its tables already busy: a test can hold compactions
// back while the policy still plans them.
func (db *DB) SetTestHookBeforeCompaction(f func()) { db.testHookBeforeCompaction.Store(&f) }
