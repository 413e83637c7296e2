// Package percolator implements TiKV's transactional commands — the
// percolator two-phase commit protocol — over a NoKV store, with the
// semantics of TiKV's kvrpcpb API: each command takes a kvrpcpb request and
// returns the kvrpcpb response (KeyError with locked, conflict,
// already_exist, txn_not_found, commit_ts_expired, retryable or abort), so
// an RPC server is a thin translation.
//
// # Timestamps
//
// Transactions are named by timestamps a TSO hands out (physical
// milliseconds << 18 | logical): start_ts when they begin, commit_ts when
// they commit. These are NOT the engine's versions. Percolator keeps its own
// versions inside its keys and always reads the newest engine state (from a
// snapshot); the engine's versions only order percolator's batches.
//
// # Key encoding
//
// The three column families live in the engine's one key space, told apart
// by a first byte. User keys are memcomparable-encoded (8-byte groups, each
// followed by a marker byte 0xFF minus its zero padding), so that an
// encoded key is never a prefix of another and a timestamp suffix keeps the
// order (key ascending, then timestamp descending):
//
//	lock    'l' | mc(key)                    -> lock record
//	write   'w' | mc(key) | ^commit_ts (BE8) -> write record
//	default 'd' | mc(key) | ^start_ts  (BE8) -> value (when above 255 bytes)
//
// A lock record is the prewritten state of one key of one transaction:
// type (Put, Del, Lock), primary key, start_ts, TTL (ms), min_commit_ts,
// transaction size and, for values up to 255 bytes, the value itself. A
// write record (kind Put 'P', Delete 'D', Lock 'L' or Rollback 'R',
// start_ts, the short value, and an overlapped-rollback flag) says how the
// transaction that started at start_ts ended on that key. A rollback record
// sits at commit_ts == start_ts. When another transaction committed the
// same key at exactly that timestamp, the rollback becomes a flag on that
// commit record instead of replacing it. See records.go for the byte layout.
//
// Other layers sharing the engine (raft metadata, say) keep their keys out
// of the first bytes 'd', 'l' and 'w'.
//
// # Commands
//
// Write commands (Prewrite, Commit, BatchRollback, Cleanup, ResolveLock,
// CheckTxnStatus, TxnHeartBeat) latch their keys (package latch), read a
// fresh engine snapshot, decide their writes, and apply them as ONE atomic
// batch (through Options.Write when the replication layer supplies it)
// before releasing the latches: commands on the same key run one at a
// time, and a command is applied whole or not at all. A command that
// returns a KeyError writes nothing. Reads (Get, BatchGet, Scan, ScanLock)
// take no latch and read one snapshot.
//
// Every rollback record is protected: nothing removes it before garbage
// collection (which is not implemented yet), so a prewrite that arrives
// after a rollback always fails.
//
// Not supported: pessimistic transactions, async commit and 1PC (requests
// asking for them are refused or fall back as TiKV allows), assertions,
// garbage collection of old versions, and region bounds on ResolveLock's
// lock scan (it scans the whole store).
package percolator
