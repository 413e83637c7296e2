package percolator

import (
	"bytes"
	"slices"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/nokv/nokv/backend"
)

// Reads take no latches: each reads one engine snapshot, in which every
// command's writes are whole or absent.

// readLock decides what a read at ts does about key's lock l: ignore it,
// read the lock's own value (its transaction is known committed), or fail
// with a Locked KeyError. TiKV's rules: a lock newer than ts, a Lock-type
// lock, a lock whose min_commit_ts is above ts, the primary's lock for a
// read of the newest version, and locks of transactions the client has
// resolved do not block; read-committed reads ignore locks.
func readLock(l *lock, key []byte, ts uint64, ctx *kvrpcpb.Context) (readThrough bool, err error) {
	if l == nil || l.startTs > ts || l.op == kvrpcpb.Op_Lock || l.minCommitTs > ts {
		return false, nil
	}
	if ts == maxTs && bytes.Equal(key, l.primary) {
		return false, nil
	}
	if ctx != nil {
		if ctx.IsolationLevel == kvrpcpb.IsolationLevel_RC || slices.Contains(ctx.ResolvedLocks, l.startTs) {
			return false, nil
		}
		if slices.Contains(ctx.CommittedLocks, l.startTs) {
			return true, nil
		}
	}
	return false, errLocked(l, key)
}

// get reads key at ts, lock check included.
func get(r *reader, key []byte, ts uint64, ctx *kvrpcpb.Context) (value []byte, commitTs uint64, found bool, err error) {
	l, err := r.loadLock(key)
	if err != nil {
		return nil, 0, false, err
	}
	through, err := readLock(l, key, ts, ctx)
	if err != nil {
		return nil, 0, false, err
	}
	if through {
		return lockValue(r, key, l)
	}
	return r.readValue(key, ts)
}

// lockValue returns the value a committed transaction's lock carries.
func lockValue(r *reader, key []byte, l *lock) ([]byte, uint64, bool, error) {
	switch {
	case l.op != kvrpcpb.Op_Put:
		return nil, 0, false, nil
	case l.hasShort:
		return l.shortValue, 0, true, nil
	}
	v, err := r.value(key, l.startTs)
	return v, 0, err == nil, err
}

// Get reads req.Key as of req.Version: the newest committed value at or
// below it. A lock that may hide a newer committed value is reported as a
// Locked KeyError; the client resolves it and retries.
func (s *Storage) Get(req *kvrpcpb.GetRequest) (*kvrpcpb.GetResponse, error) {
	snap := s.store.NewSnapshot()
	defer snap.Release()
	r := newReader(snap)
	defer r.close()
	resp := &kvrpcpb.GetResponse{}
	v, commitTs, found, err := get(r, req.Key, req.Version, req.Context)
	if resp.Error, err = split(err); err != nil || resp.Error != nil {
		return resp, err
	}
	resp.Value, resp.NotFound = v, !found
	if req.NeedCommitTs {
		resp.CommitTs = commitTs
	}
	return resp, nil
}

// BatchGet reads several keys as Get does, from one snapshot. Found keys
// and locked keys (with a Locked error) are returned, in request order;
// missing keys are left out.
func (s *Storage) BatchGet(req *kvrpcpb.BatchGetRequest) (*kvrpcpb.BatchGetResponse, error) {
	snap := s.store.NewSnapshot()
	defer snap.Release()
	r := newReader(snap)
	defer r.close()
	resp := &kvrpcpb.BatchGetResponse{}
	for _, k := range req.Keys {
		v, commitTs, found, err := get(r, k, req.Version, req.Context)
		ke, err := split(err)
		if err != nil {
			return nil, err
		}
		switch {
		case ke != nil:
			resp.Pairs = append(resp.Pairs, &kvrpcpb.KvPair{Error: ke})
		case found:
			p := &kvrpcpb.KvPair{Key: k, Value: v}
			if req.NeedCommitTs {
				p.CommitTs = commitTs
			}
			resp.Pairs = append(resp.Pairs, p)
		}
	}
	return resp, nil
}

// Scan returns up to req.Limit keys with a value visible at req.Version, in
// [StartKey, EndKey) ascending, or with Reverse in [EndKey, StartKey)
// descending (an empty bound is open). A key whose lock blocks the read
// takes its place in the result as a pair holding only a Locked error.
func (s *Storage) Scan(req *kvrpcpb.ScanRequest) (*kvrpcpb.ScanResponse, error) {
	resp := &kvrpcpb.ScanResponse{}
	if req.Limit == 0 {
		return resp, nil
	}
	lo, hi := req.StartKey, req.EndKey
	if req.Reverse {
		lo, hi = req.EndKey, req.StartKey
	}
	snap := s.store.NewSnapshot()
	defer snap.Release()
	r := newReader(snap)
	defer r.close()
	locks, err := newCursor(snap, cfLock, lo, hi)
	if err != nil {
		return nil, err
	}
	defer locks.close()
	writes, err := newCursor(snap, cfWrite, lo, hi)
	if err != nil {
		return nil, err
	}
	defer writes.close()
	if req.Reverse {
		locks.it.Last()
		writes.it.Last()
	} else {
		locks.it.First()
		writes.it.First()
	}
	for uint32(len(resp.Pairs)) < req.Limit {
		lk, lok, err := locks.userKey()
		if err != nil {
			return nil, err
		}
		wk, wok, err := writes.userKey()
		if err != nil {
			return nil, err
		}
		if !lok && !wok {
			break
		}
		// The next user key in scan order, and which families hold it.
		key, inLocks, inWrites := lk, lok, wok
		if lok && wok {
			c := bytes.Compare(lk, wk)
			if req.Reverse {
				c = -c
			}
			key, inLocks, inWrites = lk, c <= 0, c >= 0
			if c > 0 {
				key = wk
			}
		} else if wok {
			key = wk
		}
		key = slices.Clone(key)

		var l *lock
		if inLocks {
			v, err := locks.it.Value()
			if err != nil {
				return nil, err
			}
			if l, err = decodeLock(v); err != nil {
				return nil, err
			}
			if req.Reverse {
				locks.it.Prev()
			} else {
				locks.it.Next()
			}
		}
		if inWrites {
			// Move the write cursor past every version of key.
			if req.Reverse {
				writes.it.SeekLT(writePrefix(key))
			} else {
				writes.it.Seek(afterVersions(key))
			}
		}
		through, err := readLock(l, key, req.Version, req.Context)
		if ke, serr := split(err); serr != nil {
			return nil, serr
		} else if ke != nil {
			resp.Pairs = append(resp.Pairs, &kvrpcpb.KvPair{Error: ke})
			continue
		}
		var v []byte
		var found bool
		switch {
		case through:
			v, _, found, err = lockValue(r, key, l)
		case inWrites:
			v, _, found, err = r.readValue(key, req.Version)
		}
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		p := &kvrpcpb.KvPair{Key: key}
		if !req.KeyOnly {
			p.Value = v
		}
		resp.Pairs = append(resp.Pairs, p)
	}
	return resp, nil
}

// ScanLock returns the locks in [req.StartKey, req.EndKey) of transactions
// that started at or before req.MaxVersion, up to req.Limit (0: all).
func (s *Storage) ScanLock(req *kvrpcpb.ScanLockRequest) (*kvrpcpb.ScanLockResponse, error) {
	locks, err := s.scanLocks(req.StartKey, req.EndKey, int(req.Limit), func(l *lock) bool { return l.startTs <= req.MaxVersion })
	if err != nil {
		return nil, err
	}
	resp := &kvrpcpb.ScanLockResponse{}
	for _, kl := range locks {
		resp.Locks = append(resp.Locks, kl.lock.info(kl.key))
	}
	return resp, nil
}

type keyedLock struct {
	key  []byte
	lock *lock
}

// scanLocks returns the locks in [start, end) that pass keep, at most limit
// of them (0: all).
func (s *Storage) scanLocks(start, end []byte, limit int, keep func(*lock) bool) ([]keyedLock, error) {
	snap := s.store.NewSnapshot()
	defer snap.Release()
	c, err := newCursor(snap, cfLock, start, end)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var out []keyedLock
	for ok := c.it.First(); ok && (limit == 0 || len(out) < limit); ok = c.it.Next() {
		key, err := splitLockKey(c.it.Key())
		if err != nil {
			return nil, err
		}
		v, err := c.it.Value()
		if err != nil {
			return nil, err
		}
		l, err := decodeLock(v)
		if err != nil {
			return nil, err
		}
		if keep(l) {
			out = append(out, keyedLock{key, l})
		}
	}
	return out, c.it.Err()
}

// cursor iterates one family over a user key range.
type cursor struct {
	cf byte
	it *backend.Iterator
}

func newCursor(snap *backend.Snapshot, cf byte, start, end []byte) (*cursor, error) {
	lower, upper := cfBounds(cf, start, end)
	it, err := snap.NewIterator(&backend.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	return &cursor{cf: cf, it: it}, nil
}

func (c *cursor) close() { c.it.Close() }

// userKey returns the user key the cursor is at.
func (c *cursor) userKey() ([]byte, bool, error) {
	if !c.it.Valid() {
		return nil, false, c.it.Err()
	}
	if c.cf == cfLock {
		k, err := splitLockKey(c.it.Key())
		return k, err == nil, err
	}
	k, _, err := splitTsKey(c.it.Key())
	return k, err == nil, err
}
