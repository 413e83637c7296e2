package backend

import (
	"fmt"
	"sort"
	"sync"

	"github.com/nokv/nokv/iface"
)

// Snapshot is a consistent, read-only view of the store at one version.
// Compactions keep every version a live snapshot can see. Release it when
// done.
type Snapshot struct {
	db      *DB
	version uint64
	unpin   func() // the value-log pin that keeps old values readable
	once    sync.Once
}

// NewSnapshot returns a snapshot at the newest committed version.
func (db *DB) NewSnapshot() *Snapshot {
	s := &Snapshot{db: db, unpin: func() {}}
	if db.gc != nil {
		s.unpin = db.gc.Pin()
	}
	db.snaps.mu.Lock()
	s.version = db.lastVersion.Load()
	db.snaps.live[s.version]++
	db.snaps.mu.Unlock()
	return s
}

// Version returns the version the snapshot reads at.
func (s *Snapshot) Version() uint64 { return s.version }

// Get reads key as of the snapshot.
func (s *Snapshot) Get(key []byte) ([]byte, error) {
	if s.version == 0 {
		// A snapshot of an empty store (getAt reads version 0 as "newest").
		return nil, fmt.Errorf("%q: %w", key, iface.ErrNotFound)
	}
	return s.db.getAt(key, s.version)
}

// NewIterator iterates over the snapshot.
func (s *Snapshot) NewIterator(o *IterOptions) (*Iterator, error) {
	it, err := s.db.newIterator(o, s.version)
	if err == nil && s.version == 0 {
		// A snapshot of an empty store sees nothing, not the newest data
		// (newIterator reads version 0 as "newest"; versions start at 1).
		it.version = 0
	}
	return it, err
}

// Release lets compaction drop the versions only this snapshot could see,
// and value-log GC remove the segments only it could reach. Iterators made
// from the snapshot stay usable (they hold their own pins).
func (s *Snapshot) Release() {
	s.once.Do(func() {
		s.db.snaps.mu.Lock()
		if s.db.snaps.live[s.version]--; s.db.snaps.live[s.version] <= 0 {
			delete(s.db.snaps.live, s.version)
		}
		s.db.snaps.mu.Unlock()
		s.unpin()
	})
}

// GetAt reads key as of version, which must be protected by a snapshot (or
// compaction may have dropped what it would see). Versions above the newest
// committed one read as the newest committed one, so a batch still being
// applied is never seen in part.
func (db *DB) GetAt(key []byte, version uint64) ([]byte, error) {
	if last := db.lastVersion.Load(); version == 0 || version > last {
		version = last
	}
	return db.getAt(key, version)
}

type snapshotList struct {
	mu   sync.Mutex
	live map[uint64]int
}

func (l *snapshotList) init() { l.live = make(map[uint64]int) }

// versions returns the live snapshot versions, ascending.
func (l *snapshotList) versions() []uint64 {
	l.mu.Lock()
	out := make([]uint64, 0, len(l.live))
	for v := range l.live {
		out = append(out, v)
	}
	l.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
