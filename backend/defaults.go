package backend

import (
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/skiplist"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vlog/inline"
	"github.com/nokv/nokv/wal"
)

// The defaults are plain function references, so a caller who sets every
// component never pays for the defaults' construction.

func defaultMemtable(o iface.MemtableOptions) iface.Memtable { return skiplist.New(o) }

func defaultLog(o iface.LogOptions) (iface.Log, error) { return wal.New(o) }

func defaultTableFormat(cacheBytes int64) iface.TableFormat {
	return sstable.New(sstable.Options{Cache: sstable.NewCache(cacheBytes)})
}

func defaultValueStore(o iface.ValueStoreOptions) (iface.ValueStore, error) { return inline.New(o) }

func defaultPolicy() iface.CompactionPolicy { return leveled.New(leveled.Options{}) }
