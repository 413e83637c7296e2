package mvcc

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

// oracle hands out read and commit timestamps and detects conflicts.
//
// Timestamps are engine versions. A transaction's read timestamp is the
// version of the engine snapshot it holds; its commit timestamp is the
// version its batch is applied at. The conflict check, the choice of the
// commit timestamp and the batch's place in the engine's commit queue happen
// under commitMu, so commit timestamps are applied in increasing order (as
// the engine requires); the engine publishes batches in queue order, so a
// commit is visible only once every earlier commit is.
type oracle struct {
	store  Store
	detect bool
	sync   bool

	// commitMu orders commits (check, timestamp, record, queue position).
	commitMu sync.Mutex
	lastTs   uint64 // newest commit timestamp this oracle applied; under commitMu

	// mu orders the registration of readers against the pruning of
	// committed; it also guards committed.
	mu        sync.Mutex
	committed []committedTxn // ascending ts

	readMark   *Watermark // read timestamps of open transactions
	commitMark *Watermark // commit timestamps handed out and not yet applied
}

// committedTxn is what conflict detection remembers of a commit: its
// timestamp and the keys it wrote, sorted.
type committedTxn struct {
	ts   uint64
	keys [][]byte
}

func newOracle(store Store, detect, sync bool) *oracle {
	last := store.LastVersion()
	return &oracle{
		store:      store,
		detect:     detect,
		sync:       sync,
		lastTs:     last,
		readMark:   NewWatermark(0),
		commitMark: NewWatermark(last),
	}
}

// begin takes the snapshot a new transaction reads from and registers its
// read timestamp. Both happen under mu so that a commit pruning the
// conflict history either sees this reader or finished before its snapshot.
func (o *oracle) begin() *backend.Snapshot {
	o.mu.Lock()
	snap := o.store.NewSnapshot()
	o.readMark.Begin(snap.Version())
	o.mu.Unlock()
	return snap
}

// end unregisters a read timestamp.
func (o *oracle) end(readTs uint64) {
	o.readMark.Done(readTs)
	if o.detect {
		o.mu.Lock()
		o.prune()
		o.mu.Unlock()
	}
}

// prune forgets commits no open transaction can conflict with: those at or
// below the oldest open read timestamp. Called with mu held.
//
// A commit not yet applied is kept whatever the readers: a transaction that
// begins now takes a snapshot without it, and must still conflict with it.
func (o *oracle) prune() {
	limit := o.commitMark.DoneUntil()
	if oldest, ok := o.readMark.Oldest(); ok {
		limit = min(limit, oldest)
	}
	i := sort.Search(len(o.committed), func(i int) bool { return o.committed[i].ts > limit })
	if i > 0 {
		n := copy(o.committed, o.committed[i:])
		clear(o.committed[n:])
		o.committed = o.committed[:n]
	}
}

// hasConflict reports whether a commit after readTs wrote a key txn read.
// Called with mu held.
func (o *oracle) hasConflict(txn *Txn) bool {
	if len(txn.reads) == 0 && len(txn.ranges) == 0 {
		return false
	}
	i := sort.Search(len(o.committed), func(i int) bool { return o.committed[i].ts > txn.readTs })
	for _, c := range o.committed[i:] {
		for _, k := range c.keys {
			if _, ok := txn.reads[string(k)]; ok {
				return true
			}
		}
		for _, r := range txn.ranges {
			j := sort.Search(len(c.keys), func(j int) bool { return bytes.Compare(c.keys[j], r.lower) >= 0 })
			if j < len(c.keys) && (r.upper == nil || bytes.Compare(c.keys[j], r.upper) < 0) {
				return true
			}
		}
	}
	return false
}

// versionRaceTimeout bounds how long a commit keeps retrying when writes
// made directly on the store keep taking the version it picked.
const versionRaceTimeout = 10 * time.Second

// queuedApplier is implemented by stores that can tell when a batch has its
// place in the commit order (*backend.DB: ApplyQueued). The oracle then
// releases commitMu before the write, so commits overlap and share the
// engine's commit groups and fsyncs; other stores are written inside the
// critical section.
type queuedApplier interface {
	ApplyQueued(b *backend.Batch, wo *backend.WriteOptions, queued func()) error
}

// commit checks txn for conflicts and applies b at a fresh commit
// timestamp, which it returns.
//
// The conflict check, the choice of the timestamp, the record of the
// commit's keys and the batch's place in the engine's commit queue happen
// under commitMu, so timestamps enter the engine in increasing order; the
// write itself (log, fsync, memtable) happens after commitMu is released,
// together with other commits. A commit is recorded for conflict detection
// before it is visible; recording it early can only make a later
// transaction fail with ErrConflict, never miss a conflict.
func (o *oracle) commit(txn *Txn, b *backend.Batch, keys [][]byte) (uint64, error) {
	var wo *backend.WriteOptions
	if o.sync {
		wo = &backend.WriteOptions{Sync: true}
	}
	qa, queuedOK := o.store.(queuedApplier)
	var deadline time.Time
	for {
		o.commitMu.Lock()
		if o.detect {
			o.mu.Lock()
			conflict := o.hasConflict(txn)
			o.mu.Unlock()
			if conflict {
				o.commitMu.Unlock()
				return 0, ErrConflict
			}
		}
		// The engine is the clock: writes made directly on the store (not
		// through a transaction) also take versions, so the next commit
		// timestamp is above both.
		ts := max(o.lastTs, o.store.LastVersion()) + 1
		o.lastTs = ts
		o.commitMark.Begin(ts)
		if o.detect {
			o.mu.Lock()
			o.committed = append(o.committed, committedTxn{ts: ts, keys: keys})
			o.mu.Unlock()
		}
		b.SetVersion(ts)
		var err error
		if queuedOK {
			err = qa.ApplyQueued(b, wo, o.commitMu.Unlock)
		} else {
			err = o.store.Apply(b, wo)
			o.commitMu.Unlock()
		}
		o.commitMark.Done(ts)
		if o.detect {
			o.mu.Lock()
			o.prune()
			o.mu.Unlock()
		}
		if err == nil {
			return ts, nil
		}
		// A direct write took the version first (keys were checked, so the
		// version is the only argument the engine can refuse): wait until
		// that write is published, then pick a later version. The record of
		// the failed attempt stays (it can only cause a spurious conflict).
		if !errors.Is(err, iface.ErrInvalidArgument) {
			return 0, fmt.Errorf("mvcc: commit at %d: %w", ts, err)
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(versionRaceTimeout)
		}
		for o.store.LastVersion() < ts && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
		if time.Now().Before(deadline) {
			continue
		}
		return 0, fmt.Errorf("mvcc: commit at %d: %w", ts, err)
	}
}
