package percolator

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/nokv/nokv/iface"
)

// shortValueMax is the largest value kept inline in the lock and then in
// the write record; larger values go to the default family.
const shortValueMax = 255

// lock is a prewritten, not yet committed or rolled back, write of one key.
type lock struct {
	op          kvrpcpb.Op // Op_Put, Op_Del or Op_Lock
	primary     []byte
	startTs     uint64
	ttl         uint64 // milliseconds
	minCommitTs uint64
	txnSize     uint64
	shortValue  []byte
	hasShort    bool
}

const lockFormat = 1

// encode returns the lock-family value:
//
//	format(1)=1 | op(1) | startTs(8) | ttl(8) | minCommitTs(8) | txnSize(8) |
//	flags(1): 1 = short value | primaryLen(uvarint) | primary |
//	[valueLen(uvarint) | value]
func (l *lock) encode() []byte {
	b := make([]byte, 0, 36+len(l.primary)+len(l.shortValue)+4)
	b = append(b, lockFormat, byte(l.op))
	b = binary.BigEndian.AppendUint64(b, l.startTs)
	b = binary.BigEndian.AppendUint64(b, l.ttl)
	b = binary.BigEndian.AppendUint64(b, l.minCommitTs)
	b = binary.BigEndian.AppendUint64(b, l.txnSize)
	var flags byte
	if l.hasShort {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(l.primary)))
	b = append(b, l.primary...)
	if l.hasShort {
		b = binary.AppendUvarint(b, uint64(len(l.shortValue)))
		b = append(b, l.shortValue...)
	}
	return b
}

func decodeLock(b []byte) (*lock, error) {
	bad := func(what string) error { return fmt.Errorf("%w: lock record: %s", iface.ErrCorruption, what) }
	if len(b) < 35 || b[0] != lockFormat {
		return nil, bad("short or unknown format")
	}
	l := &lock{op: kvrpcpb.Op(b[1])}
	l.startTs = binary.BigEndian.Uint64(b[2:])
	l.ttl = binary.BigEndian.Uint64(b[10:])
	l.minCommitTs = binary.BigEndian.Uint64(b[18:])
	l.txnSize = binary.BigEndian.Uint64(b[26:])
	flags := b[34]
	b = b[35:]
	var err error
	if l.primary, b, err = readBytes(b); err != nil {
		return nil, bad("primary: " + err.Error())
	}
	if flags&1 != 0 {
		l.hasShort = true
		if l.shortValue, b, err = readBytes(b); err != nil {
			return nil, bad("value: " + err.Error())
		}
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return l, nil
}

// info returns the lock as the kvrpcpb LockInfo a client resolves.
func (l *lock) info(key []byte) *kvrpcpb.LockInfo {
	return &kvrpcpb.LockInfo{
		PrimaryLock: l.primary,
		LockVersion: l.startTs,
		Key:         key,
		LockTtl:     l.ttl,
		TxnSize:     l.txnSize,
		LockType:    l.op,
		MinCommitTs: l.minCommitTs,
	}
}

// expired reports whether the lock's TTL ran out by the physical time of
// currentTs.
func (l *lock) expired(currentTs uint64) bool {
	return physical(l.startTs)+l.ttl < physical(currentTs)
}

// writeKind is the kind of a write record. The letters are TiKV's.
type writeKind byte

const (
	writePut      writeKind = 'P'
	writeDelete   writeKind = 'D'
	writeLock     writeKind = 'L'
	writeRollback writeKind = 'R'
)

func kindOf(op kvrpcpb.Op) writeKind {
	switch op {
	case kvrpcpb.Op_Put:
		return writePut
	case kvrpcpb.Op_Del:
		return writeDelete
	}
	return writeLock
}

// write is a record in the write family at (key, commitTs): the outcome of
// the transaction that started at startTs. A rollback record sits at
// commitTs == startTs of the rolled-back transaction.
type write struct {
	kind       writeKind
	startTs    uint64
	shortValue []byte
	hasShort   bool
	// overlappedRollback: this is another transaction's commit at
	// commitTs, and the transaction that started at commitTs was rolled
	// back here too (the two records would share one key).
	overlappedRollback bool
}

// encode returns the write-family value:
//
//	kind(1) | startTs(8) | flags(1): 1 = short value, 2 = overlapped rollback |
//	[valueLen(uvarint) | value]
func (w *write) encode() []byte {
	b := make([]byte, 0, 10+len(w.shortValue)+2)
	b = append(b, byte(w.kind))
	b = binary.BigEndian.AppendUint64(b, w.startTs)
	var flags byte
	if w.hasShort {
		flags |= 1
	}
	if w.overlappedRollback {
		flags |= 2
	}
	b = append(b, flags)
	if w.hasShort {
		b = binary.AppendUvarint(b, uint64(len(w.shortValue)))
		b = append(b, w.shortValue...)
	}
	return b
}

func decodeWrite(b []byte) (*write, error) {
	bad := func(what string) error { return fmt.Errorf("%w: write record: %s", iface.ErrCorruption, what) }
	if len(b) < 10 {
		return nil, bad("short")
	}
	w := &write{kind: writeKind(b[0]), startTs: binary.BigEndian.Uint64(b[1:])}
	switch w.kind {
	case writePut, writeDelete, writeLock, writeRollback:
	default:
		return nil, bad(fmt.Sprintf("unknown kind %#x", b[0]))
	}
	flags := b[9]
	b = b[10:]
	w.overlappedRollback = flags&2 != 0
	if flags&1 != 0 {
		var err error
		w.hasShort = true
		if w.shortValue, b, err = readBytes(b); err != nil {
			return nil, bad("value: " + err.Error())
		}
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return w, nil
}

func readBytes(b []byte) (v, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("bad length")
	}
	// Copied: records are decoded from iterator memory that the next
	// positioning call reuses.
	return slices.Clone(b[k : k+int(n)]), b[k+int(n):], nil
}
