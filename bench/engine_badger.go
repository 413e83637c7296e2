package main

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// badgerEngine is Badger at its defaults (which keep values up to 1 MiB in
// the LSM tree), or (vlog) with ValueThreshold 1 KiB, NoKV's threshold:
// values of 1 KiB and more go to the value log (WiscKey-style separation).
// Both log only warnings and errors.
func badgerEngine(vlog bool) engine {
	e := engine{
		name:  "badger",
		title: "Badger",
		about: "defaults: 64 MiB memtable, 256 MiB block cache, bloom filters (1% FP), Snappy, ValueThreshold 1 MiB",
	}
	if vlog {
		e.name, e.title = "badger-vlog", "Badger vlog"
		e.about = "ValueThreshold 1 KiB (values of 1 KiB and more in the value log)"
	}
	e.open = func(dir string, c openConfig) (store, string, error) {
		o := badger.DefaultOptions(dir).WithLoggingLevel(badger.WARNING)
		if vlog {
			o = o.WithValueThreshold(1 << 10)
		}
		if c.syncWrites {
			o = o.WithSyncWrites(true)
		}
		db, err := badger.Open(o)
		if err != nil {
			return nil, "", err
		}
		return &badgerStore{db: db, sync: c.syncWrites}, dumpOptions(o, "Logger"), nil
	}
	return e
}

type badgerStore struct {
	db   *badger.DB
	sync bool // opened with SyncWrites
}

func (s *badgerStore) newWriter() writer { return &badgerWriter{s: s} }

func (s *badgerStore) get(key, dst []byte) ([]byte, bool, error) {
	found := false
	dst = dst[:0]
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		dst, err = item.ValueCopy(dst)
		return err
	})
	return dst, found, err
}

func (s *badgerStore) scan(start []byte, limit int, fn func(k, v []byte)) (int, error) {
	txn := s.db.NewTransaction(false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	if limit > 0 && limit < o.PrefetchSize {
		o.PrefetchSize = limit
	}
	it := txn.NewIterator(o)
	defer it.Close()
	if start == nil {
		it.Rewind()
	} else {
		it.Seek(start)
	}
	n := 0
	for ; it.Valid() && (limit <= 0 || n < limit); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error {
			fn(item.Key(), v)
			return nil
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *badgerStore) close() error { return s.db.Close() }

// badgerWriter commits each batch as one read-write transaction (Badger's
// general write API). A transaction keeps references to the keys and values
// it is given until it commits, so the writer copies them into an arena of
// its own, reused after each commit.
type badgerWriter struct {
	s     *badgerStore
	txn   *badger.Txn
	arena []byte
}

func (w *badgerWriter) set(key, value []byte) error {
	if w.txn == nil {
		w.txn = w.s.db.NewTransaction(true)
		w.arena = w.arena[:0]
	}
	if need := len(w.arena) + len(key) + len(value); need > cap(w.arena) {
		// Earlier entries of this batch still point into the old arena; a
		// new one leaves them alone.
		w.arena = make([]byte, 0, max(2*cap(w.arena), need, 4096))
	}
	n := len(w.arena)
	w.arena = append(w.arena, key...)
	w.arena = append(w.arena, value...)
	k := w.arena[n : n+len(key) : n+len(key)]
	v := w.arena[n+len(key) : len(w.arena) : len(w.arena)]
	return w.txn.Set(k, v)
}

// commit commits the transaction. Badger syncs a commit exactly when the
// store was opened with SyncWrites, so a chain that asks for sync opens it
// that way (see openConfig); sync itself is not consulted here.
func (w *badgerWriter) commit(bool) error {
	if w.txn == nil {
		return nil
	}
	err := w.txn.Commit()
	w.txn = nil
	return err
}
