package backend

import "sync/atomic"

// TxnCounters count the transactions that layers above the engine (package
// mvcc and its percolator) run over the store. The engine only keeps them,
// so that Stats, and the expvar it publishes, is one snapshot of
// everything. All fields may be updated concurrently.
type TxnCounters struct {
	Started   atomic.Int64 // transactions begun
	Committed atomic.Int64 // commits that wrote something
	Conflicts atomic.Int64 // commits refused by conflict detection
	Failed    atomic.Int64 // commits that failed otherwise (the engine refused the write)
	Finished  atomic.Int64 // transactions ended (committed, refused or discarded)
}

// TxnStats is a snapshot of TxnCounters.
type TxnStats struct {
	Started   int64
	Committed int64
	Conflicts int64
	Failed    int64
	Open      int64 // begun and not yet ended
}

// TxnCounters returns the store's transaction counters, for the
// transaction layer to update.
func (db *DB) TxnCounters() *TxnCounters { return &db.txns }

// Snapshot reads the counters.
func (c *TxnCounters) Snapshot() TxnStats {
	fin := c.Finished.Load()
	st := TxnStats{
		Started:   c.Started.Load(),
		Committed: c.Committed.Load(),
		Conflicts: c.Conflicts.Load(),
		Failed:    c.Failed.Load(),
	}
	st.Open = max(st.Started-fin, 0)
	return st
}
