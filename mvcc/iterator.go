package mvcc

import (
	"bytes"
	"slices"
	"sort"
	"time"

	"github.com/nokv/nokv/backend"
)

// IteratorOptions shape a transaction iterator. All fields are optional.
type IteratorOptions struct {
	// Prefix limits the iterator to keys with this prefix.
	Prefix []byte
	// LowerBound is the smallest key returned (inclusive).
	LowerBound []byte
	// UpperBound is the key iteration stops before (exclusive).
	UpperBound []byte
	// Reverse iterates in descending key order.
	Reverse bool
	// AllVersions stops at every version of every key visible at the read
	// timestamp, newest first within a key (oldest first in reverse),
	// tombstones and expired values included: see IsDeleted and ExpiresAt.
	// The transaction's own pending write of a key comes before its
	// committed versions, with Version 0.
	AllVersions bool
	// KeysOnly makes Value return nil without reading values (which may
	// live in the value log).
	KeysOnly bool
}

// Iterator walks the keys a transaction sees: its snapshot merged with its
// own pending writes (as they were when the iterator was made). Position it
// with Rewind or Seek, then step with Next while Valid. Key and Value stay
// valid until the next positioning call. Not safe for concurrent use;
// Close it before the transaction ends.
//
// In an update transaction with conflict detection on, making an iterator
// records its whole key range as read: a commit by another transaction into
// that range after this one began makes Commit fail with ErrConflict (this
// also catches phantoms). Narrow the range with Prefix or bounds.
type Iterator struct {
	opts  IteratorOptions
	it    *backend.Iterator
	lower []byte
	upper []byte
	pend  []*pendingWrite // pending writes within the bounds, ascending
	pi    int             // current pending write
	now   uint64

	valid bool
	fromP bool // the current item is pending[pi]
}

// NewIterator returns an iterator over what the transaction sees.
func (txn *Txn) NewIterator(opts IteratorOptions) (*Iterator, error) {
	if txn.done {
		return nil, ErrDiscardedTxn
	}
	lower, upper := opts.LowerBound, opts.UpperBound
	if len(opts.Prefix) > 0 {
		if lower == nil || bytes.Compare(lower, opts.Prefix) < 0 {
			lower = opts.Prefix
		}
		if succ := prefixSuccessor(opts.Prefix); succ != nil && (upper == nil || bytes.Compare(succ, upper) < 0) {
			upper = succ
		}
	}
	lower, upper = slices.Clone(lower), slices.Clone(upper)
	eit, err := txn.snap.NewIterator(&backend.IterOptions{LowerBound: lower, UpperBound: upper, AllVersions: opts.AllVersions})
	if err != nil {
		return nil, err
	}
	it := &Iterator{opts: opts, it: eit, lower: lower, upper: upper, now: uint64(time.Now().Unix())}
	for _, w := range txn.writes {
		if (lower == nil || bytes.Compare(w.key, lower) >= 0) && (upper == nil || bytes.Compare(w.key, upper) < 0) {
			it.pend = append(it.pend, w)
		}
	}
	slices.SortFunc(it.pend, func(a, b *pendingWrite) int { return bytes.Compare(a.key, b.key) })
	if txn.tracking() {
		r := keyRange{lower: lower, upper: upper}
		if r.lower == nil {
			r.lower = []byte{}
		}
		txn.ranges = append(txn.ranges, r)
	}
	return it, nil
}

// prefixSuccessor returns the smallest key greater than every key with
// prefix p, or nil if there is none.
func prefixSuccessor(p []byte) []byte {
	s := slices.Clone(p)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 0xff {
			s[i]++
			return s[:i+1]
		}
	}
	return nil
}

// Rewind moves to the first key (the last with Reverse).
func (it *Iterator) Rewind() {
	if it.opts.Reverse {
		it.it.Last()
		it.pi = len(it.pend) - 1
	} else {
		it.it.First()
		it.pi = 0
	}
	it.settle()
}

// Seek moves to the first key at or after key (with Reverse, the last key at
// or before key).
func (it *Iterator) Seek(key []byte) {
	if it.opts.Reverse {
		it.it.SeekLT(append(slices.Clone(key), 0))
		it.pi = sort.Search(len(it.pend), func(i int) bool { return bytes.Compare(it.pend[i].key, key) > 0 }) - 1
	} else {
		it.it.Seek(key)
		it.pi = sort.Search(len(it.pend), func(i int) bool { return bytes.Compare(it.pend[i].key, key) >= 0 })
	}
	it.settle()
}

// Next moves to the next item in the iterator's direction.
func (it *Iterator) Next() {
	if !it.valid {
		return
	}
	if it.fromP {
		it.stepPending()
	} else {
		it.stepEngine()
	}
	it.settle()
}

func (it *Iterator) stepPending() {
	if it.opts.Reverse {
		it.pi--
	} else {
		it.pi++
	}
}

func (it *Iterator) stepEngine() {
	if it.opts.Reverse {
		it.it.Prev()
	} else {
		it.it.Next()
	}
}

// settle picks the current item from the engine and pending cursors,
// skipping pending deletions (and the committed versions they shadow)
// unless AllVersions.
func (it *Iterator) settle() {
	for {
		eok := it.it.Valid()
		pok := it.pi >= 0 && it.pi < len(it.pend)
		if !eok && !pok {
			it.valid = false
			return
		}
		fromP := pok
		if eok && pok {
			c := bytes.Compare(it.it.Key(), it.pend[it.pi].key)
			if it.opts.Reverse {
				c = -c
			}
			switch {
			case c < 0:
				fromP = false
			case c > 0:
				fromP = true
			case it.opts.AllVersions:
				// The pending write is the newest version: first going
				// forward, last going backward.
				fromP = !it.opts.Reverse
			default:
				// The pending write shadows the committed value.
				it.stepEngine()
				continue
			}
		}
		if fromP && !it.opts.AllVersions && !it.pend[it.pi].live(it.now) {
			it.stepPending()
			continue
		}
		it.fromP, it.valid = fromP, true
		return
	}
}

// Valid reports whether the iterator is at an item.
func (it *Iterator) Valid() bool { return it.valid }

// Key returns the current key.
func (it *Iterator) Key() []byte {
	if it.fromP {
		return it.pend[it.pi].key
	}
	return it.it.Key()
}

// Value returns the current value: nil for a deletion, and nil with
// KeysOnly.
func (it *Iterator) Value() ([]byte, error) {
	if it.opts.KeysOnly || it.IsDeleted() {
		return nil, nil
	}
	if it.fromP {
		return it.pend[it.pi].value, nil
	}
	return it.it.Value()
}

// Version returns the commit timestamp of the current item, 0 for the
// transaction's own pending write.
func (it *Iterator) Version() uint64 {
	if it.fromP {
		return 0
	}
	return it.it.Version()
}

// IsDeleted reports whether the current item is a deletion (only an
// AllVersions iterator stops at one).
func (it *Iterator) IsDeleted() bool {
	if it.fromP {
		return it.pend[it.pi].deleted
	}
	return it.it.IsDeleted()
}

// ExpiresAt returns the expiry of the current item (unix seconds), 0 if none.
func (it *Iterator) ExpiresAt() uint64 {
	if it.fromP {
		return it.pend[it.pi].expiresAt
	}
	return it.it.ExpiresAt()
}

// Err returns the first error the iterator met.
func (it *Iterator) Err() error { return it.it.Err() }

// Close releases the iterator.
func (it *Iterator) Close() error {
	it.valid = false
	return it.it.Close()
}
