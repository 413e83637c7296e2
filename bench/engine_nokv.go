package main

import (
	"errors"
	"fmt"
	"strings"

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
		about: fmt.Sprintf("defaults: %d MiB memtable (%s), %d MiB block cache, bloom filters (10 bits/key), Snappy, "+
			"%s compaction, %s value store (ValueThreshold %d B)", o.MemtableSize>>20, d.Memtable, o.BlockCacheSize>>20,
			d.Compaction, d.ValueStore, o.ValueThreshold),
		open: func(dir string, _ openConfig) (store, string, error) {
			return openNoKV(dir, nil)
		},
	}
}

// nokvVariants are NoKV with each value store other than the default
// (today "nokv-inline": values stay in the LSM tree, like Badger's
// default), named "nokv-" and the registry name. They are not in the
// default set; ask for them with --engines.
func nokvVariants() []engine {
	reg := registry.Builtin()
	var out []engine
	for _, vs := range reg.Names(registry.KindValueStore) {
		if vs == reg.Defaults().ValueStore {
			continue
		}
		out = append(out, engine{
			name:  "nokv-" + vs,
			title: "NoKV " + vs,
			about: fmt.Sprintf("defaults, but the %s value store", vs),
			open: func(dir string, _ openConfig) (store, string, error) {
				o := &nokv.Options{}
				if _, err := reg.Resolve(registry.Config{ValueStore: vs}, o); err != nil {
					return nil, "", err
				}
				return openNoKV(dir, o)
			},
		})
	}
	return out
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
