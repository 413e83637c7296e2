package backend

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nokv/nokv/iface"
)

// Get returns a copy of the newest value of key, or an error wrapping
// iface.ErrNotFound.
func (db *DB) Get(key []byte) ([]byte, error) {
	return db.getAt(key, 0)
}

func (db *DB) getAt(key []byte, version uint64) ([]byte, error) {
	rs := db.acquire()
	defer func() { rs.v.unref() }()
	latest := version == 0
	if latest {
		version = db.lastVersion.Load()
	}
	db.stats.gets.Add(1)
	if rand.Uint32()&7 == 0 { // one read in eight counts toward hot keys
		db.hot.TryTouch(key)
	}
	_, stored, ok, err := db.lookup(rs, key, version)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%q: %w", key, iface.ErrNotFound)
	}
	v, err := db.resolve(key, stored)
	if err != nil && db.gc != nil && latest {
		// Value-log GC may have moved the value and removed its segment
		// between the lookup and the read (Gets take no pin); the move is
		// published by then, so one fresh lookup at the newest version finds
		// it. (Reads at an older version hold a snapshot, whose pin keeps
		// the segment.)
		version = db.lastVersion.Load()
		rs.v.unref()
		rs = db.acquire()
		if _, stored2, ok, err2 := db.lookup(rs, key, version); err2 == nil && ok && !bytes.Equal(stored2, stored) {
			return db.resolve(key, stored2)
		}
	}
	return v, err
}

// lookup finds the newest entry of key at or below version in rs: its
// internal key and stored value (which may alias memtable memory).
func (db *DB) lookup(rs readState, key []byte, version uint64) (ikey, stored []byte, ok bool, err error) {
	ik := iface.MakeKey(make([]byte, 0, len(key)+iface.TrailerLen), key, version)
	if k, v, ok := rs.mem.m.Get(ik); ok {
		return k, v, true, nil
	}
	for i := len(rs.imm) - 1; i >= 0; i-- {
		if k, v, ok := rs.imm[i].m.Get(ik); ok {
			return k, v, true, nil
		}
	}
	for _, h := range rs.v.levels[0] {
		if bytes.Compare(key, iface.UserKey(h.meta.Smallest)) < 0 || bytes.Compare(key, iface.UserKey(h.meta.Largest)) > 0 {
			continue
		}
		k, v, ok, err := h.t.Get(ik)
		if err != nil || ok {
			return k, v, ok, err
		}
	}
	for l := 1; l < len(rs.v.levels); l++ {
		// The level's ingest buffer, newest first, then its main run.
		for _, h := range rs.v.buffered[l] {
			if bytes.Compare(key, iface.UserKey(h.meta.Smallest)) < 0 || bytes.Compare(key, iface.UserKey(h.meta.Largest)) > 0 {
				continue
			}
			k, v, ok, err := h.t.Get(ik)
			if err != nil || ok {
				return k, v, ok, err
			}
		}
		h := levelFind(rs.v.levels[l], ik)
		if h == nil {
			continue
		}
		k, v, ok, err := h.t.Get(ik)
		if err != nil || ok {
			return k, v, ok, err
		}
	}
	return nil, nil, false, nil
}

// resolve turns a stored value into the user's value.
func (db *DB) resolve(key, stored []byte) ([]byte, error) {
	kind, exp, payload, err := iface.DecodeValue(stored)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	if kind == iface.KindDelete || (exp != 0 && exp <= uint64(time.Now().Unix())) {
		return nil, fmt.Errorf("%q: %w", key, iface.ErrNotFound)
	}
	if kind == iface.KindPointer {
		return db.readPointer(payload, nil)
	}
	return append([]byte(nil), payload...), nil
}
