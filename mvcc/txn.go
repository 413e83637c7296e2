package mvcc

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

// Txn is a transaction: reads see the snapshot taken at Begin plus the
// transaction's own writes; writes are buffered and applied atomically by
// Commit, at a commit timestamp above every earlier commit. A Txn is not
// safe for concurrent use.
type Txn struct {
	db     *DB
	update bool
	snap   *backend.Snapshot
	readTs uint64

	writes map[string]*pendingWrite
	size   int64

	// What the transaction read, for conflict detection (update
	// transactions with detection on only).
	reads  map[string]struct{}
	ranges []keyRange

	done     bool
	commitTs uint64
}

// pendingWrite is a buffered write.
type pendingWrite struct {
	key       []byte
	value     []byte
	deleted   bool
	expiresAt uint64
}

func (w *pendingWrite) live(now uint64) bool {
	return !w.deleted && (w.expiresAt == 0 || w.expiresAt > now)
}

// keyRange is a range a transaction iterated: [lower, upper), upper nil for
// no bound.
type keyRange struct{ lower, upper []byte }

// Entry is a write with options.
type Entry struct {
	// Key is the key written; it must not be empty.
	Key []byte
	// Value is the value written.
	Value []byte
	// ExpiresAt makes the value read as absent from this time on (unix
	// seconds); 0 means never.
	ExpiresAt uint64
}

// ReadTs returns the timestamp the transaction reads at: the engine version
// of its snapshot.
func (txn *Txn) ReadTs() uint64 { return txn.readTs }

// CommitTs returns the timestamp the transaction committed at, or 0.
func (txn *Txn) CommitTs() uint64 { return txn.commitTs }

func (txn *Txn) tracking() bool { return txn.update && txn.db.orc.detect }

// Get returns the value of key as the transaction sees it (its own write,
// else the snapshot's). A missing, deleted or expired key is an error
// wrapping iface.ErrNotFound. The returned slice is the caller's.
func (txn *Txn) Get(key []byte) ([]byte, error) {
	if txn.done {
		return nil, ErrDiscardedTxn
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if w, ok := txn.writes[string(key)]; ok {
		if !w.live(uint64(time.Now().Unix())) {
			return nil, fmt.Errorf("%q: %w", key, iface.ErrNotFound)
		}
		return slices.Clone(w.value), nil
	}
	if txn.tracking() {
		if txn.reads == nil {
			txn.reads = make(map[string]struct{})
		}
		txn.reads[string(key)] = struct{}{}
	}
	return txn.snap.Get(key)
}

// Set buffers a write of value under key. Both are copied.
func (txn *Txn) Set(key, value []byte) error { return txn.SetEntry(Entry{Key: key, Value: value}) }

// SetWithTTL buffers a write that expires ttl from now (rounded up to whole
// seconds).
func (txn *Txn) SetWithTTL(key, value []byte, ttl time.Duration) error {
	secs := uint64((ttl + time.Second - 1) / time.Second)
	return txn.SetEntry(Entry{Key: key, Value: value, ExpiresAt: uint64(time.Now().Unix()) + secs})
}

// SetEntry buffers a write described by e.
func (txn *Txn) SetEntry(e Entry) error {
	return txn.put(&pendingWrite{key: e.Key, value: e.Value, expiresAt: e.ExpiresAt})
}

// Delete buffers a deletion of key.
func (txn *Txn) Delete(key []byte) error { return txn.put(&pendingWrite{key: key, deleted: true}) }

func (txn *Txn) put(w *pendingWrite) error {
	switch {
	case txn.done:
		return ErrDiscardedTxn
	case !txn.update:
		return ErrReadOnlyTxn
	}
	if err := checkKey(w.key); err != nil {
		return err
	}
	cost := int64(len(w.key)+len(w.value)) + entryOverhead
	size, n := txn.size+cost, len(txn.writes)+1
	old, replace := txn.writes[string(w.key)]
	if replace {
		size -= int64(len(old.key)+len(old.value)) + entryOverhead
		n--
	}
	if size > txn.db.opts.MaxTxnBytes || n > txn.db.opts.MaxTxnEntries {
		return fmt.Errorf("%w: %d entries, %d bytes with this write (limits %d entries, %d bytes)",
			ErrTxnTooBig, n, size, txn.db.opts.MaxTxnEntries, txn.db.opts.MaxTxnBytes)
	}
	w.key = slices.Clone(w.key)
	w.value = slices.Clone(w.value)
	if txn.writes == nil {
		txn.writes = make(map[string]*pendingWrite)
	}
	txn.writes[string(w.key)] = w
	txn.size = size
	return nil
}

// Commit applies the transaction's writes atomically and ends it. It
// returns ErrConflict (and applies nothing) when conflict detection is on
// and another transaction committed, after this one began, a write to a key
// this one read or to a range it iterated. A transaction without writes
// commits trivially.
func (txn *Txn) Commit() error {
	if txn.done {
		return ErrDiscardedTxn
	}
	defer txn.Discard()
	if len(txn.writes) == 0 {
		return nil
	}
	keys := make([][]byte, 0, len(txn.writes))
	for _, w := range txn.writes {
		keys = append(keys, w.key)
	}
	slices.SortFunc(keys, bytes.Compare)
	b := backend.NewBatch()
	for _, k := range keys {
		w := txn.writes[string(k)]
		switch {
		case w.deleted:
			b.Delete(k)
		case w.expiresAt != 0:
			b.SetWithExpiry(k, w.value, w.expiresAt)
		default:
			b.Set(k, w.value)
		}
	}
	ts, err := txn.db.orc.commit(txn, b, keys)
	switch {
	case errors.Is(err, ErrConflict):
		txn.db.stats.Conflicts.Add(1)
		return err
	case err != nil:
		txn.db.stats.Failed.Add(1)
		return err
	}
	txn.db.stats.Committed.Add(1)
	txn.commitTs = ts
	return nil
}

// Discard ends the transaction without applying its writes and releases its
// snapshot. It may be called more than once, and after Commit.
func (txn *Txn) Discard() {
	if txn.done {
		return
	}
	txn.done = true
	txn.db.stats.Finished.Add(1)
	txn.snap.Release()
	txn.db.orc.end(txn.readTs)
}
