package percolator

import (
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
)

// Prewrite is the first phase of two-phase commit: it locks every mutated
// key for the transaction that started at req.StartVersion, after checking
// that no other transaction holds a lock on it and that none committed a
// write to it after the start (or rolled this one back).
//
// The outcome, as in TiKV:
//   - keys locked by another transaction: one Locked KeyError per key, and
//     nothing is written;
//   - a newer write: a Conflict KeyError (reason Optimistic), or reason
//     SelfRolledBack when this transaction was already rolled back here;
//   - Insert or CheckNotExists on a key that exists: AlreadyExist;
//   - a key already locked by this transaction: accepted again (retries
//     are idempotent).
//
// Put, Del, Lock, Insert and CheckNotExists are supported; pessimistic
// transactions, async commit and 1PC are not (an async-commit or 1PC
// request is prewritten as a normal one, and the response's zero
// MinCommitTs and OnePcCommitTs tell the client to commit normally).
func (s *Storage) Prewrite(req *kvrpcpb.PrewriteRequest) (*kvrpcpb.PrewriteResponse, error) {
	resp := &kvrpcpb.PrewriteResponse{}
	pessimistic := req.ForUpdateTs != 0
	for _, a := range req.PessimisticActions {
		pessimistic = pessimistic || a != kvrpcpb.PrewriteRequest_SKIP_PESSIMISTIC_CHECK
	}
	if pessimistic {
		ke, _ := split(errAbort("pessimistic transactions are not supported"))
		resp.Errors = []*kvrpcpb.KeyError{ke}
		return resp, nil
	}
	keys := make([][]byte, len(req.Mutations))
	for i, m := range req.Mutations {
		keys[i] = m.Key
		switch m.Op {
		case kvrpcpb.Op_Put, kvrpcpb.Op_Del, kvrpcpb.Op_Lock, kvrpcpb.Op_Insert, kvrpcpb.Op_CheckNotExists:
		default:
			ke, _ := split(errAbort("mutation %v on key %q is not supported in prewrite", m.Op, m.Key))
			resp.Errors = []*kvrpcpb.KeyError{ke}
			return resp, nil
		}
		if len(m.Key) == 0 {
			ke, _ := split(errAbort("empty key in prewrite"))
			resp.Errors = []*kvrpcpb.KeyError{ke}
			return resp, nil
		}
	}
	err := s.exec(keys, func(r *reader, t *txnWrites) error {
		var locked []*kvrpcpb.KeyError
		for _, m := range req.Mutations {
			err := prewriteKey(r, t, req, m)
			if ke, ok := asKeyError(err); ok && ke.Locked != nil {
				locked = append(locked, ke)
				continue
			}
			if err != nil {
				return err
			}
		}
		if len(locked) > 0 {
			resp.Errors = locked
			return errSkipWrite
		}
		return nil
	})
	ke, err := split(err)
	if ke != nil {
		resp.Errors = []*kvrpcpb.KeyError{ke}
	}
	return resp, err
}

func prewriteKey(r *reader, t *txnWrites, req *kvrpcpb.PrewriteRequest, m *kvrpcpb.Mutation) error {
	startTs := req.StartVersion
	l, err := r.loadLock(m.Key)
	if err != nil {
		return err
	}
	if l != nil {
		if l.startTs != startTs {
			return errLocked(l, m.Key)
		}
		return nil // our own lock: a retried prewrite
	}
	if !req.SkipConstraintCheck {
		if err := checkNewerWrites(r, req, m); err != nil {
			return err
		}
	}
	if m.Op == kvrpcpb.Op_CheckNotExists {
		return nil
	}
	nl := &lock{
		op:          m.Op,
		primary:     req.PrimaryLock,
		startTs:     startTs,
		ttl:         req.LockTtl,
		minCommitTs: req.MinCommitTs,
		txnSize:     req.TxnSize,
	}
	if m.Op == kvrpcpb.Op_Insert {
		nl.op = kvrpcpb.Op_Put
	}
	if nl.op == kvrpcpb.Op_Put {
		if len(m.Value) <= shortValueMax {
			nl.shortValue, nl.hasShort = m.Value, true
		} else {
			t.putValue(m.Key, startTs, m.Value)
		}
	}
	t.putLock(m.Key, nl)
	return nil
}

// checkNewerWrites fails a prewrite when the newest write record of the key
// is newer than the transaction's start, or is the rollback of this very
// transaction; for Insert and CheckNotExists it also fails when the key
// exists.
func checkNewerWrites(r *reader, req *kvrpcpb.PrewriteRequest, m *kvrpcpb.Mutation) error {
	startTs := req.StartVersion
	mustNotExist := m.Op == kvrpcpb.Op_Insert || m.Op == kvrpcpb.Op_CheckNotExists
	first := true
	return r.versions(m.Key, maxTs, func(commitTs uint64, w *write) (bool, error) {
		if first {
			first = false
			if commitTs == startTs && (w.kind == writeRollback || w.overlappedRollback) {
				return false, errWriteConflict(startTs, w.startTs, commitTs, m.Key, req.PrimaryLock,
					kvrpcpb.WriteConflict_SelfRolledBack)
			}
			if commitTs > startTs {
				return false, errWriteConflict(startTs, w.startTs, commitTs, m.Key, req.PrimaryLock,
					kvrpcpb.WriteConflict_Optimistic)
			}
		}
		if !mustNotExist {
			return false, nil
		}
		switch w.kind {
		case writePut:
			return false, errAlreadyExist(m.Key)
		case writeDelete:
			return false, nil
		}
		return true, nil // Lock and Rollback say nothing about existence
	})
}
