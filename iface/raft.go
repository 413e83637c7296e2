package iface

import (
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// RaftStorage is the durable storage of one raft group's log: etcd raft's
// read-only Storage plus the mutators the Ready loop calls. The default
// implementation (built with replication) keeps one shared log per store on
// top of Log; the "memory" alternate wraps raft.MemoryStorage for tests.
//
// Concurrency: the Storage methods may be called by raft while the Ready loop
// calls the mutators; implementations synchronize. Durability: Append,
// SetHardState and ApplySnapshot are durable when they return, so messages
// that depend on them may be sent afterwards. Ownership: slices passed in are
// not retained; entries returned by Entries must not be modified.
type RaftStorage interface {
	raft.Storage
	// Append adds entries to the log, truncating any conflicting suffix.
	Append(entries []raftpb.Entry) error
	// SetHardState records term, vote and commit.
	SetHardState(st raftpb.HardState) error
	// ApplySnapshot replaces the log with a snapshot.
	ApplySnapshot(snap raftpb.Snapshot) error
	// Compact discards entries up to and including compactIndex.
	Compact(compactIndex uint64) error
}
