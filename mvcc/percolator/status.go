package percolator

import (
	"bytes"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// CheckTxnStatus reports the state of the transaction that started at
// req.LockTs, from its primary key, and cleans up after it when it is dead:
//   - primary locked, TTL run out by the physical time of req.CurrentTs:
//     the lock is rolled back; LockTtl 0, Action TTLExpireRollback;
//   - primary locked and alive: LockTtl and LockInfo are returned; when the
//     lock has a min_commit_ts and the caller's start ts is at or above it,
//     min_commit_ts is pushed past the caller (Action MinCommitTSPushed), so
//     the caller may read around the lock;
//   - committed: CommitVersion;
//   - rolled back: LockTtl 0 and CommitVersion 0;
//   - no trace: with req.RollbackIfNotExist a rollback record is written
//     (Action LockNotExistRollback), otherwise a TxnNotFound KeyError.
//
// With req.VerifyIsPrimary, a lock whose primary is another key gives a
// PrimaryMismatch KeyError.
func (s *Storage) CheckTxnStatus(req *kvrpcpb.CheckTxnStatusRequest) (*kvrpcpb.CheckTxnStatusResponse, error) {
	resp := &kvrpcpb.CheckTxnStatusResponse{}
	primary := req.PrimaryKey
	err := s.exec([][]byte{primary}, func(r *reader, t *txnWrites) error {
		l, err := r.loadLock(primary)
		if err != nil {
			return err
		}
		if l != nil && l.startTs == req.LockTs {
			if req.VerifyIsPrimary && !bytes.Equal(l.primary, primary) {
				return keyError{&kvrpcpb.KeyError{PrimaryMismatch: &kvrpcpb.PrimaryMismatch{LockInfo: l.info(primary)}}}
			}
			if l.expired(req.CurrentTs) {
				resp.Action = kvrpcpb.Action_TTLExpireRollback
				return rollbackLock(r, t, primary, l)
			}
			if l.minCommitTs != 0 && req.CallerStartTs != maxTs && req.CallerStartTs >= l.minCommitTs {
				l.minCommitTs = max(req.CallerStartTs+1, req.CurrentTs)
				t.putLock(primary, l)
			}
			if (req.CallerStartTs != 0 && l.minCommitTs > req.CallerStartTs) || req.CallerStartTs == maxTs {
				resp.Action = kvrpcpb.Action_MinCommitTSPushed
			}
			resp.LockTtl = l.ttl
			resp.LockInfo = l.info(primary)
			return nil
		}
		st, err := missingLock(r, t, primary, req.LockTs, req.RollbackIfNotExist)
		if err != nil {
			return err
		}
		switch {
		case st.committed:
			resp.CommitVersion = st.commitTs
		case st.lockNotExist:
			resp.Action = kvrpcpb.Action_LockNotExistRollback
		}
		return nil
	})
	resp.Error, err = split(err)
	if resp.Error != nil {
		resp.Action, resp.LockTtl, resp.LockInfo, resp.CommitVersion = kvrpcpb.Action_NoAction, 0, nil, 0
	}
	return resp, err
}

// TxnHeartBeat extends the TTL of a live transaction's primary lock to
// req.AdviseLockTtl (it never shortens it) and returns the TTL. A primary
// that holds no lock of the transaction gives TxnNotFound.
func (s *Storage) TxnHeartBeat(req *kvrpcpb.TxnHeartBeatRequest) (*kvrpcpb.TxnHeartBeatResponse, error) {
	resp := &kvrpcpb.TxnHeartBeatResponse{}
	err := s.exec([][]byte{req.PrimaryLock}, func(r *reader, t *txnWrites) error {
		l, err := r.loadLock(req.PrimaryLock)
		if err != nil {
			return err
		}
		if l == nil || l.startTs != req.StartVersion {
			return errTxnNotFound(req.StartVersion, req.PrimaryLock)
		}
		if req.AdviseLockTtl > l.ttl {
			l.ttl = req.AdviseLockTtl
			t.putLock(req.PrimaryLock, l)
		}
		resp.LockTtl = l.ttl
		return nil
	})
	resp.Error, err = split(err)
	return resp, err
}
