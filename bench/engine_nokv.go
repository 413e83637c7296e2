package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nokv/nokv"
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/sstable"
)

// nokvEngine is NoKV at its defaults (nokv.Open with nil options).
func nokvEngine() engine {
	o := (&nokv.Options{}).EnsureDefaults()
	d := registry.Builtin().Defaults()
	return engine{
		name:  "nokv",
		title: "NoKV",
		about: fmt.Sprintf("defaults: %d MiB memtable (%s in %d MiB segments), %d MiB block cache, bloom filters (10 bits/key), Snappy, "+
			"%s compaction, %s value store (ValueThreshold %d B)", o.MemtableSize>>20, d.Memtable, o.MemtableSegmentSize>>20, o.BlockCacheSize>>20,
			d.Compaction, d.ValueStore, o.ValueThreshold),
		open: func(dir string, _ openConfig) (store, string, error) {
			return openNoKV(dir, nil)
		},
	}
}

// nokvVariants are NoKV with every combination of compaction policy and
// value store from the registry other than the defaults, at NoKV's defaults
// otherwise. Each is named "nokv" followed by the registry name of every
// component that differs from the default, in the order compaction, value
// store: "nokv-tiered", "nokv-inline" (values stay in the LSM tree, like
// Badger's default), "nokv-tiered-inline"; and "nokv-flat", the defaults
// with an unsegmented memtable. They are not in the default set; ask for
// them with --engines.
func nokvVariants() []engine {
	reg := registry.Builtin()
	d := reg.Defaults()
	var out, both []engine // one component changed; both (listed last)
	for _, cp := range reg.Names(registry.KindCompaction) {
		for _, vs := range reg.Names(registry.KindValueStore) {
			if cp == d.Compaction && vs == d.ValueStore {
				continue
			}
			cfg := registry.Config{Compaction: cp, ValueStore: vs}
			var parts, about []string
			if cp != d.Compaction {
				parts = append(parts, cp)
				about = append(about, cp+" compaction")
			}
			if vs != d.ValueStore {
				parts = append(parts, vs)
				about = append(about, "the "+vs+" value store")
			}
			e := engine{
				name:  "nokv-" + strings.Join(parts, "-"),
				title: "NoKV " + strings.Join(parts, " "),
				about: "defaults, but " + strings.Join(about, " and "),
				open: func(dir string, _ openConfig) (store, string, error) {
					// Resolve makes a fresh compaction policy for every open.
					o := &nokv.Options{}
					if _, err := reg.Resolve(cfg, o); err != nil {
						return nil, "", err
					}
					return openNoKV(dir, o)
				},
			}
			if len(parts) == 2 {
				both = append(both, e)
			} else {
				out = append(out, e)
			}
		}
	}
	out = append(out, both...)
	// The memtable in one piece (Options.MemtableSegmentSize -1), to weigh
	// segments: cheaper inserts and point reads of flushed keys against
	// dearer seeks.
	return append(out, engine{
		name:  "nokv-flat",
		title: "NoKV flat",
		about: "defaults, but the memtable in one piece (no segments)",
		open: func(dir string, _ openConfig) (store, string, error) {
			return openNoKV(dir, &nokv.Options{MemtableSegmentSize: -1})
		},
	})
}

func openNoKV(dir string, opts *nokv.Options) (store, string, error) {
	db, err := nokv.Open(dir, opts)
	if err != nil {
		return nil, "", err
	}
	o := db.Options()
	var b strings.Builder
	b.WriteString(dumpOptions(o, "Logger"))
	if f, ok := o.TableFormat.(*sstable.Format); ok {
		for _, line := range strings.Split(strings.TrimSpace(dumpOptions(f.Options(), "Cache")), "\n") {
			b.WriteString("TableFormat." + line + "\n")
		}
	}
	fmt.Fprintf(&b, "CompactionPolicy.NumLevels = %d\n", o.CompactionPolicy.NumLevels())
	return &nokvStore{db: db}, b.String(), nil
}

type nokvStore struct{ db *nokv.DB }

var (
	_ stallTimer = (*nokvStore)(nil)
	_ delayTimer = (*nokvStore)(nil)
)

// stallTime is Stats.WriteStallTime: writes stopped while memtables wait
// for a flush or the compaction debt is at a hard limit. NoKV adds a stall
// to it when the stall ends, so one still running is not in it yet.
func (s *nokvStore) stallTime() time.Duration { return s.db.Stats().WriteStallTime }

// delayTime is Stats.WriteDelayTime: commit groups held back by the write
// throttle while compactions are behind.
func (s *nokvStore) delayTime() time.Duration { return s.db.Stats().WriteDelayTime }

func (s *nokvStore) newWriter() writer { return &nokvWriter{db: s.db, b: nokv.NewBatch()} }

func (s *nokvStore) get(key, dst []byte) ([]byte, bool, error) {
	v, err := s.db.Get(key)
	if errors.Is(err, nokv.ErrNotFound) {
		return dst[:0], false, nil
	}
	if err != nil {
		return dst[:0], false, err
	}
	return append(dst[:0], v...), true, nil
}

func (s *nokvStore) scan(start []byte, limit int, fn func(k, v []byte)) (int, error) {
	it, err := s.db.NewIterator(nil)
	if err != nil {
		return 0, err
	}
	n := 0
	var ok bool
	if start == nil {
		ok = it.First()
	} else {
		ok = it.Seek(start)
	}
	for ; ok && (limit <= 0 || n < limit); ok = it.Next() {
		v, err := it.Value()
		if err != nil {
			it.Close()
			return n, err
		}
		fn(it.Key(), v)
		n++
	}
	return n, errors.Join(it.Err(), it.Close())
}

func (s *nokvStore) close() error { return s.db.Close() }

type nokvWriter struct {
	db *nokv.DB
	b  *nokv.Batch
	wo nokv.WriteOptions
}

func (w *nokvWriter) set(key, value []byte) error {
	w.b.Set(key, value)
	return nil
}

func (w *nokvWriter) commit(sync bool) error {
	w.wo.Sync = sync
	err := w.db.Apply(w.b, &w.wo)
	w.b.Reset()
	return err
}
