package mvcc

import (
	"errors"
	"fmt"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

// Errors returned by transactions; test them with errors.Is.
var (
	// ErrConflict: a transaction read a key (or iterated a range holding a
	// key) that another transaction committed after this one began. The
	// transaction was not applied; retry it from the start.
	ErrConflict = errors.New("mvcc: transaction conflict; retry it")
	// ErrTxnTooBig: the write would take the transaction past
	// Options.MaxTxnBytes or Options.MaxTxnEntries. The write was not
	// added; commit what the transaction holds and continue in another.
	ErrTxnTooBig = errors.New("mvcc: transaction too big")
	// ErrReadOnlyTxn: a write in a transaction begun with update=false.
	ErrReadOnlyTxn = errors.New("mvcc: write in a read-only transaction")
	// ErrDiscardedTxn: the transaction was used after Commit or Discard.
	ErrDiscardedTxn = errors.New("mvcc: transaction already committed or discarded")
)

// Options configure a DB. The zero value is the defaults: conflict
// detection on, unsynced commits, 64 MiB and one million entries per
// transaction.
type Options struct {
	// DisableConflictDetection turns serializable snapshot isolation into
	// plain snapshot isolation: commits no longer fail with ErrConflict,
	// and lost updates become possible. Off only when asked.
	DisableConflictDetection bool
	// MaxTxnBytes bounds the keys and values (plus a fixed overhead per
	// entry) one transaction may buffer; default 64 MiB.
	MaxTxnBytes int64
	// MaxTxnEntries bounds the writes one transaction may buffer; default
	// 1<<20.
	MaxTxnEntries int
	// Sync makes every commit durable (fsync) before Commit returns.
	Sync bool
}

// entryOverhead is what a buffered write costs beyond its key and value.
const entryOverhead = 64

func (o *Options) ensureDefaults() {
	if o.MaxTxnBytes <= 0 {
		o.MaxTxnBytes = 64 << 20
	}
	if o.MaxTxnEntries <= 0 {
		o.MaxTxnEntries = 1 << 20
	}
}

// DB runs transactions over a Store. All its methods are safe for
// concurrent use; a Txn is not.
type DB struct {
	store Store
	opts  Options
	orc   *oracle
	// stats are the store's transaction counters when it keeps them
	// (*backend.DB: they appear in its Stats), else this DB's own.
	stats *backend.TxnCounters
}

// txnCounterKeeper is implemented by stores that keep transaction counters
// for their stats snapshot (*backend.DB).
type txnCounterKeeper interface {
	TxnCounters() *backend.TxnCounters
}

// New returns a transactional view of store. opts may be nil. Closing the
// store is the caller's business; transactions must be finished first.
func New(store Store, opts *Options) *DB {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.ensureDefaults()
	db := &DB{store: store, opts: o, orc: newOracle(store, !o.DisableConflictDetection, o.Sync)}
	if k, ok := store.(txnCounterKeeper); ok {
		db.stats = k.TxnCounters()
	} else {
		db.stats = new(backend.TxnCounters)
	}
	return db
}

// Begin starts a transaction that reads a consistent snapshot of the store
// as of now. With update it may also write; its writes are buffered until
// Commit. Every transaction must end with Commit or Discard (a deferred
// Discard is the idiom; it is a no-op after Commit).
func (db *DB) Begin(update bool) *Txn {
	snap := db.orc.begin()
	db.stats.Started.Add(1)
	return &Txn{db: db, update: update, snap: snap, readTs: snap.Version()}
}

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(txn *Txn) error) error {
	txn := db.Begin(false)
	defer txn.Discard()
	return fn(txn)
}

// Update runs fn in a read-write transaction and commits it if fn returns
// nil. It returns fn's error, or Commit's (ErrConflict when another
// transaction got in the way; the caller may run Update again).
func (db *DB) Update(fn func(txn *Txn) error) error {
	txn := db.Begin(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	return txn.Commit()
}

// ReadWatermark returns the oldest read timestamp an open transaction holds,
// or the newest committed version when none is open. Versions shadowed at
// or below it by a newer version are invisible to every open transaction:
// compaction may drop them. (Each transaction also holds an engine
// snapshot, which is what actually keeps its versions from compaction.)
func (db *DB) ReadWatermark() uint64 {
	if ts, ok := db.orc.readMark.Oldest(); ok {
		return ts
	}
	return db.store.LastVersion()
}

// CommitWatermark returns the timestamp up to which every commit handed a
// timestamp by this DB has been applied (or failed).
func (db *DB) CommitWatermark() uint64 { return db.orc.commitMark.DoneUntil() }

// Stats returns the transaction counters (the same the store's Stats shows
// when the store is a *backend.DB, which counts every mvcc.DB over it).
func (db *DB) Stats() backend.TxnStats { return db.stats.Snapshot() }

// OpenTxns returns how many transactions are open.
func (db *DB) OpenTxns() int { return db.orc.readMark.InProgress() }

func checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", iface.ErrInvalidArgument)
	}
	return nil
}
