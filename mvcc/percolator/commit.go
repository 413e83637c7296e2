package percolator

import (
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Commit is the second phase of two-phase commit: it turns the locks of the
// transaction that started at req.StartVersion on req.Keys into write
// records at req.CommitVersion. As in TiKV:
//   - CommitVersion must exceed StartVersion (else an Abort KeyError);
//   - a lock whose min_commit_ts exceeds CommitVersion gives CommitTsExpired
//     (the client retries with a newer commit ts);
//   - a key whose lock is gone but whose commit record exists is accepted
//     again (retries are idempotent);
//   - a key whose lock is gone and that was rolled back (or never locked)
//     gives a Retryable KeyError saying TxnLockNotFound.
//
// Either every key is committed or, on any error, none is.
func (s *Storage) Commit(req *kvrpcpb.CommitRequest) (*kvrpcpb.CommitResponse, error) {
	resp := &kvrpcpb.CommitResponse{}
	if req.CommitVersion <= req.StartVersion {
		resp.Error, _ = split(errAbort("InvalidTxnTso: commit ts %d is not above start ts %d", req.CommitVersion, req.StartVersion))
		return resp, nil
	}
	err := s.exec(req.Keys, func(r *reader, t *txnWrites) error {
		for _, k := range req.Keys {
			if err := commitKey(r, t, k, req.StartVersion, req.CommitVersion); err != nil {
				return err
			}
		}
		return nil
	})
	resp.Error, err = split(err)
	return resp, err
}

func commitKey(r *reader, t *txnWrites, key []byte, startTs, commitTs uint64) error {
	l, err := r.loadLock(key)
	if err != nil {
		return err
	}
	if l == nil || l.startTs != startTs {
		rec, err := r.txnRecord(key, startTs)
		if err != nil {
			return err
		}
		if rec.committed() {
			return nil // already committed: a retry
		}
		return errTxnLockNotFound(startTs, commitTs, key)
	}
	if commitTs < l.minCommitTs {
		return errCommitTsExpired(startTs, commitTs, key, l.minCommitTs)
	}
	w := &write{kind: kindOf(l.op), startTs: startTs, shortValue: l.shortValue, hasShort: l.hasShort}
	// A rollback record of the transaction that started at commitTs would
	// share this key: keep its protection as a flag on this record.
	if old, err := r.writeAt(key, commitTs); err != nil {
		return err
	} else if old != nil && (old.kind == writeRollback || old.overlappedRollback) {
		w.overlappedRollback = true
	}
	t.putWrite(key, commitTs, w)
	t.unlock(key)
	return nil
}
