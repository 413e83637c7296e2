package nokv

import "github.com/nokv/nokv/mvcc"

// Transactions for embedded use (package mvcc):
//
//	db, _ := nokv.Open(dir, nil)
//	tdb := nokv.NewTxnDB(db, nil) // conflict detection on
//	err := tdb.Update(func(txn *nokv.Txn) error {
//		v, err := txn.Get([]byte("balance"))
//		...
//		return txn.Set([]byte("balance"), newValue)
//	})
//	if errors.Is(err, nokv.ErrConflict) { /* run it again */ }
type (
	// TxnDB runs transactions over an open DB.
	TxnDB = mvcc.DB
	// Txn is one transaction: a snapshot plus buffered writes.
	Txn = mvcc.Txn
	// TxnOptions configure a TxnDB; the zero value is the defaults.
	TxnOptions = mvcc.Options
	// TxnEntry is a write with an expiry.
	TxnEntry = mvcc.Entry
	// TxnIterator walks what a transaction sees.
	TxnIterator = mvcc.Iterator
	// TxnIteratorOptions shape a TxnIterator.
	TxnIteratorOptions = mvcc.IteratorOptions
)

// Errors of transactions; test them with errors.Is.
var (
	ErrConflict     = mvcc.ErrConflict
	ErrTxnTooBig    = mvcc.ErrTxnTooBig
	ErrReadOnlyTxn  = mvcc.ErrReadOnlyTxn
	ErrDiscardedTxn = mvcc.ErrDiscardedTxn
)

// NewTxnDB returns a transactional view of db. opts may be nil. Writes made
// directly on db still work, but transactions do not see them as conflicts.
func NewTxnDB(db *DB, opts *TxnOptions) *TxnDB { return mvcc.New(db, opts) }
