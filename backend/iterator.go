package backend

import (
	"bytes"
	"fmt"
	"time"

	"github.com/nokv/nokv/iface"
)

// IterOptions bound an iterator. All fields are optional.
type IterOptions struct {
	// LowerBound is the smallest key returned (inclusive).
	LowerBound []byte
	// UpperBound is the key iteration stops before (exclusive).
	UpperBound []byte
	// Prefix limits the iterator to keys with this prefix (it tightens the
	// bounds).
	Prefix []byte
	// AllVersions makes the iterator stop at every version of every key at
	// or below its read version, newest first within a key, tombstones and
	// expired values included (see Version, IsDeleted, ExpiresAt). Layers
	// that keep their own history (MVCC) read it this way.
	AllVersions bool
	// PrefetchValues, when positive, makes a forward iterator read the
	// values of up to this many pointers ahead of its cursor with a few
	// goroutines, so a scan that reads every value waits less on the value
	// log (see prefetch.go). It costs up to that many values of memory.
	PrefetchValues int
}

// Iterator walks the user keys visible at one version, in ascending order
// with Next and descending with Prev; each key appears once, with its newest
// value at that version, and deleted or expired keys are skipped. It holds
// the tables it reads from until Close; call Close. Not safe for concurrent
// use. Key and Value stay valid until the next positioning call.
type Iterator struct {
	db      *DB
	rs      readState
	unpin   func() // releases the value-log pin, if any
	it      iface.Iterator
	version uint64
	now     uint64
	lower   []byte
	upper   []byte

	all bool // AllVersions

	valid bool
	dir   int
	key   []byte
	ver   uint64 // version of the current entry
	exp   uint64 // expiry of the current entry
	kind  iface.Kind
	value []byte // inline value or encoded pointer
	vbuf  []byte // resolved pointer value
	vdone bool
	err   error

	seekBuf []byte // scratch for internal seek keys

	pf *prefetcher // nil unless IterOptions.PrefetchValues is set

	// reverse-scan scratch
	bestKey   []byte
	bestVer   []byte // internal key of the best version
	bestValue []byte
}

// NewIterator returns an iterator over the newest data.
func (db *DB) NewIterator(o *IterOptions) (*Iterator, error) {
	return db.newIterator(o, 0)
}

func (db *DB) newIterator(o *IterOptions, version uint64) (*Iterator, error) {
	db.mu.RLock()
	closing := db.closing
	db.mu.RUnlock()
	if closing {
		return nil, iface.ErrClosed
	}
	// Pin the value log before capturing the read state: GC must not remove
	// a segment this iterator's pointers may reach.
	unpin := func() {}
	if db.gc != nil {
		unpin = db.gc.Pin()
	}
	rs := db.acquire()
	if version == 0 {
		version = db.lastVersion.Load()
	}
	iters := make([]iface.Iterator, 0, 2+len(rs.imm)+len(rs.v.levels[0])+len(rs.v.levels))
	iters = append(iters, rs.mem.m.NewIterator())
	for i := len(rs.imm) - 1; i >= 0; i-- {
		iters = append(iters, rs.imm[i].m.NewIterator())
	}
	iters = rs.v.appendIters(iters) // L0, then per level its ingest buffer and main run
	it := &Iterator{db: db, rs: rs, unpin: unpin, it: newMergingIter(iters), version: version, now: uint64(time.Now().Unix())}
	if o != nil {
		it.all = o.AllVersions
		if o.PrefetchValues > 0 && db.gc != nil {
			it.pf = newPrefetcher(db, o.PrefetchValues)
		}
		it.lower, it.upper = o.LowerBound, o.UpperBound
		if len(o.Prefix) > 0 {
			if it.lower == nil || bytes.Compare(it.lower, o.Prefix) < 0 {
				it.lower = o.Prefix
			}
			if succ := prefixSuccessor(o.Prefix); succ != nil && (it.upper == nil || bytes.Compare(succ, it.upper) < 0) {
				it.upper = succ
			}
		}
	}
	return it, nil
}

// First moves to the first key.
func (it *Iterator) First() bool {
	if it.lower != nil {
		it.it.SeekGE(iface.MakeKey(nil, it.lower, iface.MaxVersion))
	} else {
		it.it.First()
	}
	return it.findNext()
}

// Last moves to the last key.
func (it *Iterator) Last() bool {
	if it.upper != nil {
		it.it.SeekLT(iface.MakeKey(nil, it.upper, iface.MaxVersion))
	} else {
		it.it.Last()
	}
	return it.findPrev()
}

// Seek moves to the first key at or after key.
func (it *Iterator) Seek(key []byte) bool {
	if it.lower != nil && bytes.Compare(key, it.lower) < 0 {
		key = it.lower
	}
	it.it.SeekGE(iface.MakeKey(nil, key, iface.MaxVersion))
	return it.findNext()
}

// SeekLT moves to the last key before key.
func (it *Iterator) SeekLT(key []byte) bool {
	if it.upper != nil && bytes.Compare(key, it.upper) > 0 {
		key = it.upper
	}
	it.it.SeekLT(iface.MakeKey(nil, key, iface.MaxVersion))
	return it.findPrev()
}

// Next moves to the next key (with AllVersions, the next version).
func (it *Iterator) Next() bool {
	if !it.valid {
		return false
	}
	if it.all {
		cur := iface.MakeKey(nil, it.key, it.ver)
		if it.dir < 0 {
			it.it.SeekGE(cur)
		}
		if it.it.Valid() && iface.Compare(it.it.Key(), cur) == 0 {
			it.it.Next()
		}
		return it.findNext()
	}
	if it.dir < 0 {
		it.it.SeekGE(iface.MakeKey(nil, it.key, iface.MaxVersion))
	}
	// Skip the remaining versions of the current key.
	if it.it.Valid() && bytes.Equal(iface.UserKey(it.it.Key()), it.key) {
		it.skipKey()
	}
	return it.findNext()
}

// Prev moves to the previous key (with AllVersions, the previous version).
func (it *Iterator) Prev() bool {
	if !it.valid {
		return false
	}
	if it.all {
		cur := iface.MakeKey(nil, it.key, it.ver)
		if it.dir > 0 {
			it.it.SeekLT(cur)
		} else if it.it.Valid() && iface.Compare(it.it.Key(), cur) == 0 {
			it.it.Prev()
		}
		return it.findPrev()
	}
	if it.dir > 0 {
		it.it.SeekLT(iface.MakeKey(nil, it.key, iface.MaxVersion))
	}
	return it.findPrev()
}

func (it *Iterator) visible(kind iface.Kind, exp uint64) bool {
	return kind != iface.KindDelete && (exp == 0 || exp > it.now)
}

// findNext settles forward on the first visible key at or after the
// internal iterator's position.
func (it *Iterator) findNext() bool {
	it.dir, it.valid, it.vdone = 1, false, false
	newer := 0 // consecutive versions above the read version stepped over
	for it.it.Valid() {
		ik := it.it.Key()
		uk := iface.UserKey(ik)
		if it.upper != nil && bytes.Compare(uk, it.upper) >= 0 {
			break
		}
		if iface.Version(ik) > it.version {
			if newer++; newer > skipSteps {
				// Many newer versions: seek straight to the first visible one.
				it.seekBuf = iface.MakeKey(it.seekBuf[:0], uk, it.version)
				it.it.SeekGE(it.seekBuf)
				newer = 0
			} else {
				it.it.Next()
			}
			continue
		}
		newer = 0
		kind, exp, payload, err := iface.DecodeValue(it.it.Value())
		if err != nil {
			it.err = fmt.Errorf("key %q: %w", uk, err)
			return false
		}
		if it.all || it.visible(kind, exp) {
			it.key = append(it.key[:0], uk...)
			it.ver, it.exp = iface.Version(ik), exp
			it.kind = kind
			it.value = payload
			it.valid = true
			return true
		}
		// Deleted or expired: skip the key's older versions.
		it.key = append(it.key[:0], uk...)
		it.skipKey()
	}
	it.err = it.it.Err()
	return false
}

// skipSteps is how many entries of one user key an iterator steps over
// before it seeks past them instead (a heavily overwritten key can have
// thousands of versions below the one a scan returns).
const skipSteps = 8

// skipKey moves the internal iterator past every remaining version of
// it.key.
func (it *Iterator) skipKey() {
	for i := 0; i < skipSteps; i++ {
		if !it.it.Next() || !bytes.Equal(iface.UserKey(it.it.Key()), it.key) {
			return
		}
	}
	// Version 0 sorts last among a key's versions.
	it.seekBuf = iface.MakeKey(it.seekBuf[:0], it.key, 0)
	if it.it.SeekGE(it.seekBuf) && bytes.Equal(iface.UserKey(it.it.Key()), it.key) {
		it.it.Next()
	}
}

// findPrev settles backward: it walks the versions of each user key from the
// oldest up and keeps the newest one at or below the read version.
func (it *Iterator) findPrev() bool {
	it.dir, it.valid, it.vdone = -1, false, false
	if it.all {
		return it.findPrevVersion()
	}
	for it.it.Valid() {
		uk := iface.UserKey(it.it.Key())
		if it.lower != nil && bytes.Compare(uk, it.lower) < 0 {
			break
		}
		it.bestKey = append(it.bestKey[:0], uk...)
		found := false
		steps := 0
		for ok := true; ok && bytes.Equal(iface.UserKey(it.it.Key()), it.bestKey); ok = it.it.Prev() {
			if steps++; steps > skipSteps {
				// Many versions: seek to the newest visible one, then to
				// the entry before the key.
				found = false
				it.seekBuf = iface.MakeKey(it.seekBuf[:0], it.bestKey, it.version)
				if it.it.SeekGE(it.seekBuf) && bytes.Equal(iface.UserKey(it.it.Key()), it.bestKey) {
					it.bestValue = append(it.bestValue[:0], it.it.Value()...)
					it.bestVer = append(it.bestVer[:0], it.it.Key()...)
					found = true
				}
				it.seekBuf = iface.MakeKey(it.seekBuf[:0], it.bestKey, iface.MaxVersion)
				it.it.SeekLT(it.seekBuf)
				break
			}
			if iface.Version(it.it.Key()) <= it.version {
				it.bestValue = append(it.bestValue[:0], it.it.Value()...)
				it.bestVer = append(it.bestVer[:0], it.it.Key()...)
				found = true
			}
		}
		if err := it.it.Err(); err != nil {
			it.err = err
			return false
		}
		if !found {
			continue
		}
		kind, exp, payload, err := iface.DecodeValue(it.bestValue)
		if err != nil {
			it.err = fmt.Errorf("key %q: %w", it.bestKey, err)
			return false
		}
		if it.visible(kind, exp) {
			it.key = append(it.key[:0], it.bestKey...)
			it.ver, it.exp = iface.Version(it.bestVer), exp
			it.kind = kind
			it.value = payload
			it.valid = true
			return true
		}
	}
	if it.err == nil {
		it.err = it.it.Err()
	}
	return false
}

// findPrevVersion settles backward on the previous entry at or below the
// read version (AllVersions mode).
func (it *Iterator) findPrevVersion() bool {
	for ; it.it.Valid(); it.it.Prev() {
		ik := it.it.Key()
		uk := iface.UserKey(ik)
		if it.lower != nil && bytes.Compare(uk, it.lower) < 0 {
			break
		}
		if iface.Version(ik) > it.version {
			continue
		}
		kind, exp, payload, err := iface.DecodeValue(it.it.Value())
		if err != nil {
			it.err = fmt.Errorf("key %q: %w", uk, err)
			return false
		}
		it.key = append(it.key[:0], uk...)
		it.ver, it.exp, it.kind, it.value, it.valid = iface.Version(ik), exp, kind, payload, true
		return true
	}
	if it.err == nil {
		it.err = it.it.Err()
	}
	return false
}

// Version returns the version of the current entry.
func (it *Iterator) Version() uint64 { return it.ver }

// IsDeleted reports whether the current entry is a tombstone (only an
// AllVersions iterator stops at one).
func (it *Iterator) IsDeleted() bool { return it.kind == iface.KindDelete }

// ExpiresAt returns the expiry of the current entry (unix seconds), 0 if none.
func (it *Iterator) ExpiresAt() uint64 { return it.exp }

// Valid reports whether the iterator is at a key.
func (it *Iterator) Valid() bool { return it.valid }

// Key returns the current key.
func (it *Iterator) Key() []byte { return it.key }

// Value returns the current value, reading it from the value store when the
// tree holds a pointer.
func (it *Iterator) Value() ([]byte, error) {
	if it.kind != iface.KindPointer {
		return it.value, nil
	}
	if !it.vdone {
		v, err := it.readValue()
		if err != nil {
			return nil, err
		}
		it.vbuf, it.vdone = v, true
	}
	return it.vbuf, nil
}

// Err returns the first error the iterator met.
func (it *Iterator) Err() error { return it.err }

// Close releases the iterator.
func (it *Iterator) Close() error {
	if it.it == nil {
		return it.err
	}
	if it.pf != nil {
		it.pf.close() // before the pin goes: its reads may be in flight
	}
	err := it.it.Close()
	it.it = nil
	it.rs.v.unref()
	it.unpin()
	it.valid = false
	if it.err != nil {
		return it.err
	}
	return err
}

func (db *DB) readPointer(enc, dst []byte) ([]byte, error) {
	p, err := iface.DecodeValuePtr(enc)
	if err != nil {
		return nil, err
	}
	return db.vs.Read(p, dst)
}
