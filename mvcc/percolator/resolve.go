package percolator

import (
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// ResolveLock finishes transactions whose fate is known: every lock of the
// transaction that started at req.StartVersion is committed at
// req.CommitVersion, or rolled back when that is 0. With req.TxnInfos it
// does so for several transactions at once (Txn is the start ts, Status
// the commit ts or 0). With req.Keys it works on those keys only (TiKV's
// "resolve lock lite"); otherwise it scans the lock family for the
// transactions' locks.
//
// Errors are those of Commit and BatchRollback on each key; on any error
// nothing is written.
func (s *Storage) ResolveLock(req *kvrpcpb.ResolveLockRequest) (*kvrpcpb.ResolveLockResponse, error) {
	resp := &kvrpcpb.ResolveLockResponse{}
	status := map[uint64]uint64{}
	if len(req.TxnInfos) > 0 {
		for _, ti := range req.TxnInfos {
			status[ti.Txn] = ti.Status
		}
	} else {
		status[req.StartVersion] = req.CommitVersion
	}
	for startTs, commitTs := range status {
		if commitTs != 0 && commitTs <= startTs {
			resp.Error, _ = split(errAbort("InvalidTxnTso: commit ts %d is not above start ts %d", commitTs, startTs))
			return resp, nil
		}
	}

	type target struct {
		key     []byte
		startTs uint64
	}
	var targets []target
	if len(req.Keys) > 0 {
		for _, k := range req.Keys {
			targets = append(targets, target{k, req.StartVersion})
		}
	} else {
		// Find the locks from a snapshot, then latch their keys; each key
		// is looked at again under its latch.
		locks, err := s.scanLocks(nil, nil, 0, func(l *lock) bool { _, ok := status[l.startTs]; return ok })
		if err != nil {
			return nil, err
		}
		for _, kl := range locks {
			targets = append(targets, target{kl.key, kl.lock.startTs})
		}
	}
	if len(targets) == 0 {
		return resp, nil
	}
	keys := make([][]byte, len(targets))
	for i, tg := range targets {
		keys[i] = tg.key
	}
	err := s.exec(keys, func(r *reader, t *txnWrites) error {
		for _, tg := range targets {
			var err error
			if commitTs := status[tg.startTs]; commitTs == 0 {
				err = cleanup(r, t, tg.key, tg.startTs, 0)
			} else {
				err = commitKey(r, t, tg.key, tg.startTs, commitTs)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	resp.Error, err = split(err)
	return resp, err
}
