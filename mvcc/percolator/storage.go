package percolator

import (
	"errors"
	"fmt"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/mvcc"
	"github.com/nokv/nokv/mvcc/latch"
)

// Options configure a Storage. The zero value applies each command's
// writes straight to the store, unsynced.
type Options struct {
	// Write applies one command's modifications atomically, and returns
	// once readers of the store see them. The replication layer sets it to
	// propose the modifications through raft (adding its apply index to
	// the same batch on every replica). Nil: Batch(mods) is applied to the
	// store.
	Write func(mods []Modify) error
	// Sync makes the default Write fsync each command's batch.
	Sync bool
	// LatchSlots is the size of the latch table; default latch.DefaultSlots.
	LatchSlots int
}

// Storage runs TiKV's transactional commands (percolator two-phase commit)
// over a store. Commands take kvrpcpb requests and return kvrpcpb
// responses; a transactional failure is a KeyError in the response, and
// the returned Go error is kept for failures of the store itself (closed,
// I/O, corruption), which the RPC layer reports as it sees fit. All methods
// are safe for concurrent use.
type Storage struct {
	store   mvcc.Store
	opts    Options
	latches *latch.Table
}

// New returns a Storage over store. opts may be nil.
func New(store mvcc.Store, opts *Options) *Storage {
	s := &Storage{store: store}
	if opts != nil {
		s.opts = *opts
	}
	s.latches = latch.New(s.opts.LatchSlots)
	return s
}

// keyError is a transactional failure carried as a Go error inside a
// command; the command puts it in its response.
type keyError struct{ *kvrpcpb.KeyError }

func (e keyError) Error() string { return e.KeyError.String() }

func asKeyError(err error) (*kvrpcpb.KeyError, bool) {
	var ke keyError
	if errors.As(err, &ke) {
		return ke.KeyError, true
	}
	return nil, false
}

// errSkipWrite ends a command that found nothing to write, or must not
// write (a prewrite that met locks).
var errSkipWrite = errors.New("percolator: nothing to write")

// exec runs one write command: it latches keys, reads a fresh snapshot,
// lets fn decide the modifications, and applies them as one batch before
// releasing the latches. If fn fails nothing is written.
func (s *Storage) exec(keys [][]byte, fn func(r *reader, t *txnWrites) error) error {
	g := s.latches.Acquire(keys)
	defer g.Release()
	snap := s.store.NewSnapshot()
	defer snap.Release()
	r := newReader(snap)
	defer r.close()
	var t txnWrites
	if err := fn(r, &t); err != nil {
		if errors.Is(err, errSkipWrite) {
			return nil
		}
		return err
	}
	if len(t.mods) == 0 {
		return nil
	}
	return s.write(t.mods)
}

func (s *Storage) write(mods []Modify) error {
	if s.opts.Write != nil {
		return s.opts.Write(mods)
	}
	var wo *backend.WriteOptions
	if s.opts.Sync {
		wo = &backend.WriteOptions{Sync: true}
	}
	if err := s.store.Apply(Batch(mods), wo); err != nil {
		return fmt.Errorf("percolator: apply: %w", err)
	}
	return nil
}

// split separates a command's outcome: a KeyError for the response, or a
// store failure for the caller.
func split(err error) (*kvrpcpb.KeyError, error) {
	if err == nil {
		return nil, nil
	}
	if ke, ok := asKeyError(err); ok {
		return ke, nil
	}
	return nil, err
}

// Constructors of the KeyErrors TiKV returns.

func errLocked(l *lock, key []byte) error {
	return keyError{&kvrpcpb.KeyError{Locked: l.info(key)}}
}

func errAbort(format string, args ...any) error {
	return keyError{&kvrpcpb.KeyError{Abort: fmt.Sprintf(format, args...)}}
}

func errWriteConflict(startTs, conflictStartTs, conflictCommitTs uint64, key, primary []byte, reason kvrpcpb.WriteConflict_Reason) error {
	wc := &kvrpcpb.WriteConflict{
		StartTs:          startTs,
		ConflictTs:       conflictStartTs,
		ConflictCommitTs: conflictCommitTs,
		Key:              key,
		Primary:          primary,
		Reason:           reason,
	}
	// TiKV also fills Retryable, for clients that predate the field.
	return keyError{&kvrpcpb.KeyError{Conflict: wc, Retryable: fmt.Sprintf("write conflict: %v", wc)}}
}

func errAlreadyExist(key []byte) error {
	return keyError{&kvrpcpb.KeyError{AlreadyExist: &kvrpcpb.AlreadyExist{Key: key}}}
}

func errTxnLockNotFound(startTs, commitTs uint64, key []byte) error {
	return keyError{&kvrpcpb.KeyError{Retryable: fmt.Sprintf(
		"TxnLockNotFound: txn %d cannot commit at %d: the lock on key %q is gone (rolled back)", startTs, commitTs, key)}}
}

func errTxnNotFound(startTs uint64, key []byte) error {
	return keyError{&kvrpcpb.KeyError{TxnNotFound: &kvrpcpb.TxnNotFound{StartTs: startTs, PrimaryKey: key}}}
}

func errCommitTsExpired(startTs, commitTs uint64, key []byte, minCommitTs uint64) error {
	return keyError{&kvrpcpb.KeyError{CommitTsExpired: &kvrpcpb.CommitTsExpired{
		StartTs: startTs, AttemptedCommitTs: commitTs, Key: key, MinCommitTs: minCommitTs}}}
}

func errCommitted(startTs, commitTs uint64, key []byte) error {
	return errAbort("Committed: txn %d is already committed at %d on key %q", startTs, commitTs, key)
}
