package backend

import (
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/skiplist"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vlog"
	"github.com/nokv/nokv/vlog/inline"
	"github.com/nokv/nokv/wal"
)

// The defaults are plain function references, so a caller who sets every
// component never pays for the defaults' construction.

func defaultMemtable(o iface.MemtableOptions) iface.Memtable { return skiplist.New(o) }

func defaultLog(o iface.LogOptions) (iface.Log, error) { return wal.New(o) }

// defaultTableFormat returns the sstable format with a block cache of its
// own, and the cache so its owner can report on it and close it (the cache
// runs goroutines until closed).
func defaultTableFormat(cacheBytes int64) (iface.TableFormat, *sstable.Cache) {
	c := sstable.NewCache(cacheBytes)
	return sstable.New(sstable.Options{Cache: c}), c
}

func defaultValueStore(o iface.ValueStoreOptions) (iface.ValueStore, error) { return vlog.New(o) }

// builtinValueStores maps the on-disk format names of the value stores
// NoKV ships to their factories, so a store reopened without a choice of
// value store uses the one that wrote it.
var builtinValueStores = map[string]iface.NewValueStore{
	inline.Name: inline.New,
	vlog.Name:   vlog.New,
}

func defaultPolicy() iface.CompactionPolicy { return leveled.New(leveled.Options{}) }
