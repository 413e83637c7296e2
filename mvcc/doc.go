// Package mvcc gives NoKV transactions: a Txn API for embedded use with
// serializable snapshot isolation, and (in package percolator) TiKV's
// two-phase commit primitives for the distributed service. Both work over
// Store, a narrow view of the engine that *backend.DB satisfies.
//
// # Timestamps are engine versions
//
// Every batch the engine applies gets a version, and a reader at version v
// sees exactly the batches at or below v. A Txn uses them directly: its
// read timestamp is the version of the engine snapshot it takes at Begin,
// and its commit timestamp is the version its single batch is applied at
// (Batch.SetVersion). The engine only accepts a version above the last one,
// so the oracle applies commits one at a time, in timestamp order, under its
// commit lock:
//
//	Commit:  commitMu.Lock
//	         conflict check against commits newer than readTs
//	         commitTs = max(last commit, store.LastVersion()) + 1
//	         store.Apply(batch at commitTs)      // visible whole, in order
//	         remember (commitTs, keys written)   // for later conflict checks
//	         commitMu.Unlock
//
// Hence a commit becomes visible only after every earlier commit is, and a
// snapshot never sees part of a commit. Taking the clock from the engine
// keeps transactions correct next to writes made on the store directly
// (those take versions too; they are simply not checked for conflicts). The
// price: commits do not overlap with each other in the engine's group commit.
//
// # Watermarks
//
// A Watermark tracks timestamps in progress with one mutex and an atomic (a
// map of counts and a min-heap; no goroutine or channel per mark). The read
// watermark holds the read timestamps of open transactions: its oldest is
// DB.ReadWatermark, the point below which versions shadowed by newer ones
// are invisible to every open transaction, and it bounds how much commit
// history conflict detection keeps. The commit watermark holds commit
// timestamps handed out and not yet applied (DB.CommitWatermark).
//
// What keeps compaction from dropping a version an open transaction may
// read is simpler and exact: each Txn holds a backend.Snapshot at its read
// timestamp, and the engine keeps, for every live snapshot, the newest
// version of each key at or below it. (One snapshot at the oldest read
// timestamp would not do: compaction keeps only the newest version between
// two snapshots, which a transaction reading between them may need.)
//
// # Conflict detection
//
// On by default. An update transaction records the keys it reads and the
// ranges its iterators cover (the iterator's bounds). Commit fails with
// ErrConflict if a transaction that committed after this one's read
// timestamp wrote any of those keys, or any key inside those ranges; range
// tracking also rules out phantoms, so committed update transactions are
// serializable. Read-only transactions never conflict: they read one
// consistent snapshot. Options.DisableConflictDetection turns this off
// (plain snapshot isolation; lost updates and write skew become possible).
//
// The oracle remembers each commit's keys until no open transaction began
// before it. Registering a reader and pruning that history happen under one
// mutex, so a transaction whose snapshot missed a commit always finds that
// commit in the history when it commits.
//
// # Size
//
// A transaction buffers its writes in memory until Commit; past
// Options.MaxTxnBytes or Options.MaxTxnEntries a write fails with
// ErrTxnTooBig (the transaction stays usable).
package mvcc
