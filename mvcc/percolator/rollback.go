package percolator

import (
	"fmt"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/nokv/nokv/iface"
)

// BatchRollback rolls back the transaction that started at
// req.StartVersion on req.Keys: its locks are removed, its large values
// deleted, and a rollback record is written at the start ts of each key
// (also on keys it never locked), so that a prewrite arriving late fails
// with a SelfRolledBack conflict and a commit fails with TxnLockNotFound.
// Rolling back twice is accepted; rolling back a key the transaction
// committed is an Abort KeyError, and then nothing is written.
func (s *Storage) BatchRollback(req *kvrpcpb.BatchRollbackRequest) (*kvrpcpb.BatchRollbackResponse, error) {
	resp := &kvrpcpb.BatchRollbackResponse{}
	err := s.exec(req.Keys, func(r *reader, t *txnWrites) error {
		for _, k := range req.Keys {
			if err := cleanup(r, t, k, req.StartVersion, 0); err != nil {
				return err
			}
		}
		return nil
	})
	resp.Error, err = split(err)
	return resp, err
}

// Cleanup rolls back one key of the transaction that started at
// req.StartVersion, as BatchRollback does, except that with a non-zero
// req.CurrentTs a lock whose TTL has not run out is left alone and reported
// as Locked. A key the transaction committed is reported, as TiKV does, by
// CommitVersion alone (no error), and nothing is written.
func (s *Storage) Cleanup(req *kvrpcpb.CleanupRequest) (*kvrpcpb.CleanupResponse, error) {
	resp := &kvrpcpb.CleanupResponse{}
	err := s.exec([][]byte{req.Key}, func(r *reader, t *txnWrites) error {
		err := cleanup(r, t, req.Key, req.StartVersion, req.CurrentTs)
		if ke, ok := asKeyError(err); ok && ke.Abort != "" {
			rec, rerr := r.txnRecord(req.Key, req.StartVersion)
			if rerr != nil {
				return rerr
			}
			if rec.committed() {
				resp.CommitVersion = rec.commitTs
				return errSkipWrite
			}
		}
		return err
	})
	resp.Error, err = split(err)
	return resp, err
}

// cleanup rolls back key for the transaction that started at startTs. With
// currentTs != 0, a live lock is reported instead of rolled back.
func cleanup(r *reader, t *txnWrites, key []byte, startTs, currentTs uint64) error {
	l, err := r.loadLock(key)
	if err != nil {
		return err
	}
	if l != nil && l.startTs == startTs {
		if currentTs != 0 && !l.expired(currentTs) {
			return errLocked(l, key)
		}
		return rollbackLock(r, t, key, l)
	}
	st, err := missingLock(r, t, key, startTs, true)
	if err != nil {
		return err
	}
	if st.committed {
		return errCommitted(startTs, st.commitTs, key)
	}
	return nil
}

// rollbackLock removes the lock l of key (which belongs to the transaction
// that started at l.startTs) and leaves a rollback record.
func rollbackLock(r *reader, t *txnWrites, key []byte, l *lock) error {
	rec, err := r.txnRecord(key, l.startTs)
	if err != nil {
		return err
	}
	switch {
	case rec.committed():
		return fmt.Errorf("%w: key %q holds a lock of txn %d that is also committed at %d",
			iface.ErrCorruption, key, l.startTs, rec.commitTs)
	case rec.rolledBack:
		t.unlock(key)
		return nil
	}
	if l.op == kvrpcpb.Op_Put && !l.hasShort {
		t.deleteValue(key, l.startTs)
	}
	putRollback(t, key, l.startTs, rec.overlapped)
	t.unlock(key)
	return nil
}

// putRollback leaves the record that says the transaction that started at
// startTs is rolled back on key. When another transaction committed key at
// exactly startTs, the two would share a key: the commit record keeps its
// data and gets the overlapped-rollback flag instead. Every rollback record
// here is protected: nothing ever removes it short of garbage collection.
func putRollback(t *txnWrites, key []byte, startTs uint64, overlapped *write) {
	if overlapped != nil {
		w := *overlapped
		w.overlappedRollback = true
		t.putWrite(key, startTs, &w)
		return
	}
	t.putWrite(key, startTs, &write{kind: writeRollback, startTs: startTs})
}

// txnStatus is the outcome of a transaction on one key whose lock is gone.
type txnStatus struct {
	committed  bool
	commitTs   uint64
	rolledBack bool // was rolled back before this command
	// lockNotExist: there was no trace of the transaction; a rollback
	// record was written now (when asked to).
	lockNotExist bool
}

// missingLock decides the fate of the transaction that started at startTs
// on key, which holds no lock of it: committed or rolled back per its
// record; with neither, either TxnNotFound (rollback false) or a rollback
// record is written now, so the transaction can never commit here.
func missingLock(r *reader, t *txnWrites, key []byte, startTs uint64, rollback bool) (txnStatus, error) {
	rec, err := r.txnRecord(key, startTs)
	if err != nil {
		return txnStatus{}, err
	}
	switch {
	case rec.committed():
		return txnStatus{committed: true, commitTs: rec.commitTs}, nil
	case rec.rolledBack:
		return txnStatus{rolledBack: true}, nil
	case !rollback:
		return txnStatus{}, errTxnNotFound(startTs, key)
	}
	putRollback(t, key, startTs, rec.overlapped)
	return txnStatus{lockNotExist: true}, nil
}
