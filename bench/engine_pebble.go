package main

import (
	"errors"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// pebbleEngine is Pebble at its defaults, or (tuned) with the settings
// NoKV runs with by default: bloom filters of 10 bits per key on every
// level, a 256 MiB block cache and a 64 MiB memtable.
func pebbleEngine(tuned bool) engine {
	e := engine{
		name:  "pebble",
		title: "Pebble",
		about: "defaults: 4 MiB memtable, 8 MiB block cache, no bloom filters, Snappy",
	}
	if tuned {
		e.name, e.title = "pebble-tuned", "Pebble tuned"
		e.about = "bloom filters (10 bits/key) on every level, 256 MiB block cache, 64 MiB memtable"
	}
	e.open = func(dir string, _ openConfig) (store, string, error) {
		stalls := &stallClock{}
		// Only the stall hooks are set; EnsureDefaults makes the others
		// no-ops, so nothing more is logged.
		o := &pebble.Options{Logger: quietPebbleLogger{}, EventListener: &pebble.EventListener{
			WriteStallBegin: stalls.begin,
			WriteStallEnd:   stalls.end,
		}}
		if tuned {
			o.CacheSize = 256 << 20
			o.MemTableSize = 64 << 20
			for i := range o.Levels {
				o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
			}
		}
		o.EnsureDefaults()
		db, err := pebble.Open(dir, o)
		if err != nil {
			return nil, "", err
		}
		return &pebbleStore{db: db, stalls: stalls}, o.String(), nil
	}
	return e
}

// quietPebbleLogger drops Pebble's informational lines (they would cost
// the same in every run and clutter the progress line) and keeps errors.
type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...any) {}
func (quietPebbleLogger) Errorf(format string, args ...any) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietPebbleLogger) Fatalf(format string, args ...any) {
	pebble.DefaultLogger.Fatalf(format, args...)
}

// stallClock adds up the time between Pebble's WriteStallBegin and
// WriteStallEnd events: writes stopped while memtables wait for a flush or
// L0 holds L0StopWritesThreshold sublevels. Pebble raises them under its
// commit mutex, one stall at a time.
type stallClock struct {
	mu    sync.Mutex
	total time.Duration // of the stalls that ended
	since time.Time     // start of the stall under way; zero if none
}

func (c *stallClock) begin(pebble.WriteStallBeginInfo) {
	c.mu.Lock()
	if c.since.IsZero() {
		c.since = time.Now()
	}
	c.mu.Unlock()
}

func (c *stallClock) end() {
	c.mu.Lock()
	if !c.since.IsZero() {
		c.total += time.Since(c.since)
		c.since = time.Time{}
	}
	c.mu.Unlock()
}

// read returns the stalled time so far, the stall under way included.
func (c *stallClock) read() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.total
	if !c.since.IsZero() {
		t += time.Since(c.since)
	}
	return t
}

type pebbleStore struct {
	db     *pebble.DB
	stalls *stallClock
}

var _ stallTimer = (*pebbleStore)(nil)

func (s *pebbleStore) stallTime() time.Duration { return s.stalls.read() }

func (s *pebbleStore) newWriter() writer { return &pebbleWriter{db: s.db} }

func (s *pebbleStore) get(key, dst []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return dst[:0], false, nil
	}
	if err != nil {
		return dst[:0], false, err
	}
	dst = append(dst[:0], v...)
	return dst, true, closer.Close()
}

func (s *pebbleStore) scan(start []byte, limit int, fn func(k, v []byte)) (int, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return 0, err
	}
	n := 0
	var ok bool
	if start == nil {
		ok = it.First()
	} else {
		ok = it.SeekGE(start)
	}
	for ; ok && (limit <= 0 || n < limit); ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return n, err
		}
		fn(it.Key(), v)
		n++
	}
	return n, errors.Join(it.Error(), it.Close())
}

func (s *pebbleStore) close() error { return s.db.Close() }

type pebbleWriter struct {
	db *pebble.DB
	b  *pebble.Batch
}

func (w *pebbleWriter) set(key, value []byte) error {
	if w.b == nil {
		w.b = w.db.NewBatch()
	}
	return w.b.Set(key, value, nil)
}

func (w *pebbleWriter) commit(sync bool) error {
	if w.b == nil {
		return nil
	}
	wo := pebble.NoSync
	if sync {
		wo = pebble.Sync
	}
	err := w.b.Commit(wo)
	err = errors.Join(err, w.b.Close())
	w.b = nil
	return err
}
