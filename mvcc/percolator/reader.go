package percolator

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

// reader reads the three families from one engine snapshot.
type reader struct {
	snap   *backend.Snapshot
	writes *backend.Iterator // over the write family, made on first use
}

func newReader(snap *backend.Snapshot) *reader { return &reader{snap: snap} }

func (r *reader) close() {
	if r.writes != nil {
		r.writes.Close()
	}
}

// loadLock returns key's lock, or nil.
func (r *reader) loadLock(key []byte) (*lock, error) {
	v, err := r.snap.Get(lockKey(key))
	if errors.Is(err, iface.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, err := decodeLock(v)
	if err != nil {
		return nil, fmt.Errorf("lock of %q: %w", key, err)
	}
	return l, nil
}

// value returns the value a Put by the transaction that started at startTs
// wrote to the default family.
func (r *reader) value(key []byte, startTs uint64) ([]byte, error) {
	v, err := r.snap.Get(defaultKey(key, startTs))
	if errors.Is(err, iface.ErrNotFound) {
		return nil, fmt.Errorf("%w: value of %q at start ts %d is missing from the default family",
			iface.ErrCorruption, key, startTs)
	}
	return v, err
}

func (r *reader) writeIter() (*backend.Iterator, error) {
	if r.writes == nil {
		it, err := r.snap.NewIterator(&backend.IterOptions{LowerBound: []byte{cfWrite}, UpperBound: []byte{cfWrite + 1}})
		if err != nil {
			return nil, err
		}
		r.writes = it
	}
	return r.writes, nil
}

// versions calls fn for each write record of key with commit ts at most ts,
// newest first, until fn returns false.
func (r *reader) versions(key []byte, ts uint64, fn func(commitTs uint64, w *write) (bool, error)) error {
	it, err := r.writeIter()
	if err != nil {
		return err
	}
	prefix := writePrefix(key)
	for ok := it.Seek(writeKey(key, ts)); ok; ok = it.Next() {
		ek := it.Key()
		if len(ek) != len(prefix)+tsLen || !bytes.HasPrefix(ek, prefix) {
			break
		}
		commitTs := ^beUint64(ek[len(prefix):])
		v, err := it.Value()
		if err != nil {
			return err
		}
		w, err := decodeWrite(v)
		if err != nil {
			return fmt.Errorf("write of %q at %d: %w", key, commitTs, err)
		}
		more, err := fn(commitTs, w)
		if err != nil || !more {
			return err
		}
	}
	return it.Err()
}

// seekWrite returns the newest write record of key with commit ts at most
// ts (commitTs 0 and nil when there is none).
func (r *reader) seekWrite(key []byte, ts uint64) (commitTs uint64, w *write, err error) {
	err = r.versions(key, ts, func(c uint64, x *write) (bool, error) {
		commitTs, w = c, x
		return false, nil
	})
	return commitTs, w, err
}

// writeAt returns the write record of key at exactly commitTs, or nil.
func (r *reader) writeAt(key []byte, commitTs uint64) (*write, error) {
	c, w, err := r.seekWrite(key, commitTs)
	if err != nil || c != commitTs {
		return nil, err
	}
	return w, nil
}

// commitRecord is what the write family says about one transaction on one
// key.
type commitRecord struct {
	commitTs uint64 // the record's commit ts (startTs for a rollback)
	w        *write // the transaction's own record (commit or rollback), or nil
	// rolledBack is set when w is a rollback, or when another
	// transaction's commit at startTs carries the overlapped-rollback flag.
	rolledBack bool
	// overlapped is another transaction's commit record at commit ts ==
	// startTs without the flag: a rollback of this transaction must set the
	// flag on it instead of writing its own record.
	overlapped *write
}

func (c commitRecord) committed() bool { return c.w != nil && !c.rolledBack }

// txnRecord finds the outcome of the transaction that started at startTs
// on key: its commit record lies at a commit ts >= startTs, its rollback at
// exactly startTs.
func (r *reader) txnRecord(key []byte, startTs uint64) (commitRecord, error) {
	var rec commitRecord
	err := r.versions(key, maxTs, func(commitTs uint64, w *write) (bool, error) {
		if commitTs < startTs {
			return false, nil
		}
		if w.startTs == startTs {
			rec.commitTs, rec.w = commitTs, w
			rec.rolledBack = w.kind == writeRollback
			return false, nil
		}
		if commitTs == startTs {
			if w.overlappedRollback {
				rec.commitTs, rec.rolledBack = commitTs, true
			} else {
				rec.overlapped = w
			}
			return false, nil
		}
		return true, nil
	})
	return rec, err
}

// readValue returns the value of key visible at ts from the write family:
// the newest Put or Delete at or below ts. found is false when the key does
// not exist at ts; commitTs is the version's commit ts.
func (r *reader) readValue(key []byte, ts uint64) (value []byte, commitTs uint64, found bool, err error) {
	var hit *write
	err = r.versions(key, ts, func(c uint64, w *write) (bool, error) {
		switch w.kind {
		case writePut, writeDelete:
			hit, commitTs = w, c
			return false, nil
		}
		return true, nil // Lock and Rollback records carry no data
	})
	if err != nil || hit == nil || hit.kind == writeDelete {
		return nil, 0, false, err
	}
	if hit.hasShort {
		return hit.shortValue, commitTs, true, nil
	}
	v, err := r.value(key, hit.startTs)
	return v, commitTs, err == nil, err
}
