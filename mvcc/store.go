package mvcc

import "github.com/nokv/nokv/backend"

// Store is the part of the engine the transaction layers use: atomic
// batches, consistent snapshots and the version clock. *backend.DB
// satisfies it; tests and the replication layer may wrap it.
//
// All methods may be called concurrently. Apply is durable as the engine
// documents (synced when wo asks for it); a batch is seen by readers whole
// or not at all, and only once every earlier batch is seen.
type Store interface {
	// Apply commits b atomically. A batch with SetVersion(v) commits at
	// version v, which must exceed LastVersion; otherwise the engine
	// assigns LastVersion()+1.
	Apply(b *backend.Batch, wo *backend.WriteOptions) error
	// NewSnapshot returns a view at LastVersion that keeps compaction from
	// dropping any version the view can read. The caller releases it.
	NewSnapshot() *backend.Snapshot
	// LastVersion returns the version of the newest applied batch.
	LastVersion() uint64
}

var _ Store = (*backend.DB)(nil)
