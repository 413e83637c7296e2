// Package registry turns component names into engine options. A Registry is
// a value listing named factories per plug point; Builtin returns one with
// every implementation NoKV ships. Resolve applies a Config (one name per
// plug point) to backend.Options, and an unknown name is an error that lists
// the valid ones. The engine never imports this package: wiring by name is
// for the CLI, benchmarks and tests that run over every combination.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/compaction/tiered"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/btree"
	"github.com/nokv/nokv/memtable/skiplist"
	"github.com/nokv/nokv/vlog"
	"github.com/nokv/nokv/vlog/inline"
)

// Kinds of plug points a Registry lists.
const (
	KindMemtable   = "memtable"
	KindCompaction = "compaction"
	KindValueStore = "value-store"
)

// Config names one implementation per plug point; empty means the default.
type Config struct {
	Memtable   string
	Compaction string
	ValueStore string
}

// String renders c as "memtable=skiplist compaction=leveled value-store=inline".
func (c Config) String() string {
	return fmt.Sprintf("memtable=%s compaction=%s value-store=%s", c.Memtable, c.Compaction, c.ValueStore)
}

// Registry maps names to factories. Register methods are not safe for use
// concurrently with Resolve; build a registry first, then use it.
type Registry struct {
	memtables   map[string]iface.NewMemtable
	policies    map[string]func() iface.CompactionPolicy
	valueStores map[string]iface.NewValueStore
	defaults    Config
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{
		memtables:   map[string]iface.NewMemtable{},
		policies:    map[string]func() iface.CompactionPolicy{},
		valueStores: map[string]iface.NewValueStore{},
	}
}

// Builtin returns a registry holding every implementation NoKV ships, with
// NoKV's defaults.
func Builtin() *Registry {
	r := New()
	r.RegisterMemtable("skiplist", skiplist.New)
	r.RegisterMemtable("btree", btree.New)
	r.RegisterCompaction("leveled", func() iface.CompactionPolicy { return leveled.New(leveled.Options{}) })
	r.RegisterCompaction("tiered", func() iface.CompactionPolicy { return tiered.New(tiered.Options{}) })
	r.RegisterValueStore(inline.Name, inline.New)
	r.RegisterValueStore("vlog", vlog.New)
	r.defaults = Config{Memtable: "skiplist", Compaction: "leveled", ValueStore: "vlog"}
	return r
}

// RegisterMemtable adds (or replaces) a memtable implementation.
func (r *Registry) RegisterMemtable(name string, f iface.NewMemtable) { r.memtables[name] = f }

// RegisterCompaction adds (or replaces) a compaction policy.
func (r *Registry) RegisterCompaction(name string, f func() iface.CompactionPolicy) {
	r.policies[name] = f
}

// RegisterValueStore adds (or replaces) a value store.
func (r *Registry) RegisterValueStore(name string, f iface.NewValueStore) { r.valueStores[name] = f }

// SetDefaults sets the names an empty Config field resolves to.
func (r *Registry) SetDefaults(c Config) { r.defaults = c }

// Defaults returns the default names.
func (r *Registry) Defaults() Config { return r.defaults }

// Names lists the registered names of one kind, sorted.
func (r *Registry) Names(kind string) []string {
	var keys []string
	switch kind {
	case KindMemtable:
		for k := range r.memtables {
			keys = append(keys, k)
		}
	case KindCompaction:
		for k := range r.policies {
			keys = append(keys, k)
		}
	case KindValueStore:
		for k := range r.valueStores {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Resolve sets the component fields of opts from c and returns the Config
// with defaults filled in. An unknown name is an error listing the valid ones.
func (r *Registry) Resolve(c Config, opts *backend.Options) (Config, error) {
	if c.Memtable == "" {
		c.Memtable = r.defaults.Memtable
	}
	if c.Compaction == "" {
		c.Compaction = r.defaults.Compaction
	}
	if c.ValueStore == "" {
		c.ValueStore = r.defaults.ValueStore
	}
	mt, ok := r.memtables[c.Memtable]
	if !ok {
		return c, r.unknown(KindMemtable, c.Memtable)
	}
	pol, ok := r.policies[c.Compaction]
	if !ok {
		return c, r.unknown(KindCompaction, c.Compaction)
	}
	vs, ok := r.valueStores[c.ValueStore]
	if !ok {
		return c, r.unknown(KindValueStore, c.ValueStore)
	}
	opts.NewMemtable = mt
	opts.CompactionPolicy = pol()
	opts.NewValueStore = vs
	return c, nil
}

func (r *Registry) unknown(kind, name string) error {
	return fmt.Errorf("%w: unknown %s %q; valid: %s", iface.ErrInvalidArgument, kind, name, strings.Join(r.Names(kind), ", "))
}

// Combinations lists every Config the registry can build, in a stable order.
func (r *Registry) Combinations() []Config {
	var out []Config
	for _, m := range r.Names(KindMemtable) {
		for _, c := range r.Names(KindCompaction) {
			for _, v := range r.Names(KindValueStore) {
				out = append(out, Config{Memtable: m, Compaction: c, ValueStore: v})
			}
		}
	}
	return out
}
