package backend

import (
	"encoding/binary"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// Batch is a set of writes applied atomically: after a crash either every
// write of an acknowledged batch is found, or (for an unacknowledged one)
// none. All writes of a batch share one version, so readers see all or none
// of them. A Batch is not safe for concurrent use; it may be reused after
// Reset.
type Batch struct {
	entries []iface.Entry
	arena   []byte // keys and values, copied in
	size    int64  // estimate of the memtable bytes the batch needs
	version uint64 // 0: assigned at commit
	guards  []guard
}

// guard makes a batch entry conditional (engine-internal: value-log GC
// rewrites a value only if no write replaced it meanwhile). The entry is
// written only if, when its commit group is logged, the newest entry of
// the key has this version and this stored value.
type guard struct {
	version uint64
	stored  []byte
}

// entryOverhead is the memtable bytes an entry costs beyond its key and
// value: version trailer (8), kind byte (and expiry), and for the skiplist a
// 16-byte node header, a tower of 4 bytes per level (1.33 levels on
// average) and alignment. 48 is above the average; the memtable's slack
// beyond its rotation size absorbs the rare tall tower.
const entryOverhead = 48

// memtableNeed estimates the memtable bytes entries take once the value
// store has run: a separated value costs its pointer, not its bytes, so a
// memtable full of pointers is not rotated as if it held the values.
func memtableNeed(entries []iface.Entry) int64 {
	var n int64
	for i := range entries {
		n += int64(len(entries[i].Key)+len(entries[i].Value)) + entryOverhead
	}
	return n
}

// NewBatch returns an empty batch.
func NewBatch() *Batch { return &Batch{} }

func (b *Batch) add(kind iface.Kind, key, value []byte, expiresAt uint64) {
	start := len(b.arena)
	b.arena = append(b.arena, key...)
	b.arena = append(b.arena, value...)
	k := b.arena[start : start+len(key) : start+len(key)]
	v := b.arena[start+len(key) : len(b.arena) : len(b.arena)]
	b.entries = append(b.entries, iface.Entry{Key: k, Kind: kind, Value: v, ExpiresAt: expiresAt})
	b.size += int64(len(key)+len(value)) + entryOverhead
}

// Set adds a write of value under key. Both are copied.
func (b *Batch) Set(key, value []byte) { b.add(iface.KindSet, key, value, 0) }

// SetWithExpiry adds a write that reads as absent from expiresAt (unix seconds) on.
func (b *Batch) SetWithExpiry(key, value []byte, expiresAt uint64) {
	b.add(iface.KindSet, key, value, expiresAt)
}

// setIfUnchanged adds a guarded write (see guard). A batch with guards
// must hold only guarded writes.
func (b *Batch) setIfUnchanged(key, value []byte, expiresAt, version uint64, stored []byte) {
	b.add(iface.KindSet, key, value, expiresAt)
	b.guards = append(b.guards, guard{version: version, stored: append([]byte(nil), stored...)})
}

// Delete adds a deletion of key.
func (b *Batch) Delete(key []byte) { b.add(iface.KindDelete, key, nil, 0) }

// SetVersion makes the batch commit at version v instead of the next version
// the DB would assign. v must exceed every version already committed; layers
// that manage their own timestamps (MVCC) use it.
func (b *Batch) SetVersion(v uint64) { b.version = v }

// Len returns the number of writes in the batch.
func (b *Batch) Len() int { return len(b.entries) }

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.entries = b.entries[:0]
	b.arena = b.arena[:0]
	b.size = 0
	b.version = 0
	b.guards = b.guards[:0]
}

// The log record of a commit group is its batches back to back, each:
//
//	+-------------+----------------+-----------------------------------------+
//	| version (8) | count (uvarint)| entries                                 |
//	+-------------+----------------+-----------------------------------------+
//	entry: kind (1) | [expiresAt (8) if kind has KindFlagExpires] |
//	       keyLen (uvarint) | key | valueLen (uvarint) | value
//
// kind is the stored kind after the value store ran (KindPointer values hold
// an encoded ValuePtr).
func encodeBatch(dst []byte, version uint64, entries []iface.Entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, version)
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		if e.ExpiresAt != 0 {
			dst = append(dst, byte(e.Kind|iface.KindFlagExpires))
			dst = binary.BigEndian.AppendUint64(dst, e.ExpiresAt)
		} else {
			dst = append(dst, byte(e.Kind))
		}
		dst = binary.AppendUvarint(dst, uint64(len(e.Key)))
		dst = append(dst, e.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(e.Value)))
		dst = append(dst, e.Value...)
	}
	return dst
}

// decodeBatch parses one batch from the front of a log record (a record
// holds the batches of one commit group, back to back) and returns the
// bytes after it. The entries alias rec.
func decodeBatch(rec []byte, entries []iface.Entry) (uint64, []iface.Entry, []byte, error) {
	bad := func(what string) error { return fmt.Errorf("%w: batch record: %s", iface.ErrCorruption, what) }
	if len(rec) < 8 {
		return 0, nil, nil, bad("short header")
	}
	version := binary.BigEndian.Uint64(rec)
	rec = rec[8:]
	count, n := binary.Uvarint(rec)
	if n <= 0 || count > uint64(len(rec)) {
		return 0, nil, nil, bad("bad count")
	}
	rec = rec[n:]
	entries = entries[:0]
	for i := uint64(0); i < count; i++ {
		if len(rec) < 1 {
			return 0, nil, nil, bad("truncated entry")
		}
		kind := iface.Kind(rec[0])
		rec = rec[1:]
		var exp uint64
		if kind&iface.KindFlagExpires != 0 {
			if len(rec) < 8 {
				return 0, nil, nil, bad("truncated expiry")
			}
			exp = binary.BigEndian.Uint64(rec)
			rec = rec[8:]
			kind = kind.Base()
		}
		if kind != iface.KindSet && kind != iface.KindDelete && kind != iface.KindPointer {
			return 0, nil, nil, bad(fmt.Sprintf("unknown kind %d", kind))
		}
		kl, n := binary.Uvarint(rec)
		if n <= 0 || kl > uint64(len(rec)-n) {
			return 0, nil, nil, bad("bad key length")
		}
		key := rec[n : n+int(kl)]
		rec = rec[n+int(kl):]
		vl, n := binary.Uvarint(rec)
		if n <= 0 || vl > uint64(len(rec)-n) {
			return 0, nil, nil, bad("bad value length")
		}
		val := rec[n : n+int(vl)]
		rec = rec[n+int(vl):]
		entries = append(entries, iface.Entry{Key: key, Kind: kind, Value: val, ExpiresAt: exp})
	}
	return version, entries, rec, nil
}
