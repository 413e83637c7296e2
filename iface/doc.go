// Package iface is the leaf of NoKV: the vocabulary every component shares
// (internal keys, values, iterators, sentinel errors) and the six plug
// interfaces the engine is composed of: Log, Memtable, TableFormat (builder and
// reader), ValueStore, CompactionPolicy and RaftStorage.
//
// # Internal keys
//
// Every key stored below the engine is an internal key: the user key followed
// by an 8-byte trailer holding the bitwise complement of the version, big-endian:
//
//	+--------------------+--------------------------+
//	| user key (n bytes) | ^version (8 bytes, BE)   |
//	+--------------------+--------------------------+
//
// Internal keys are ordered by Compare: user keys ascending (bytewise), then
// versions descending, so the newest version of a key comes first. Plain
// bytes.Compare is NOT the order (a user key that is a prefix of another would
// sort wrongly); always use Compare.
//
// # Values
//
// The value stored beside an internal key starts with a one-byte kind, then an
// optional expiry and the payload:
//
//	+---------+------------------------------+-----------+
//	| kind(1) | expiresAt (8, BE) if flagged | payload   |
//	+---------+------------------------------+-----------+
//
// KindSet carries the user's value, KindDelete is a tombstone with no payload,
// KindPointer carries an encoded ValuePtr into a ValueStore.
package iface
