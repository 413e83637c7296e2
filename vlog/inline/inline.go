// Package inline is the ValueStore that keeps every value inside the LSM
// tree: it never separates a value, so it owns no files and has nothing to
// sync or collect. It is the alternate to the WiscKey-style value log and the
// baseline a researcher compares it against.
package inline

import (
	"fmt"

	"github.com/nokv/nokv/iface"
)

// Name is the on-disk format name recorded in the manifest.
const Name = "inline"

// Store keeps values inline. It is stateless and safe for concurrent use.
type Store struct{}

var _ iface.ValueStore = Store{}

// New returns the inline store; it matches iface.NewValueStore.
func New(iface.ValueStoreOptions) (iface.ValueStore, error) { return Store{}, nil }

// Name returns "inline".
func (Store) Name() string { return Name }

// Write leaves every entry inline.
func (Store) Write([]iface.Entry) error { return nil }

// Sync has nothing to make durable.
func (Store) Sync() error { return nil }

// Read fails: an inline store hands out no pointers, so a pointer found in
// the tree means the store was written with another value store.
func (Store) Read(ptr iface.ValuePtr, dst []byte) ([]byte, error) {
	return dst, fmt.Errorf("%w: value pointer %+v found, but the inline value store holds no values", iface.ErrCorruption, ptr)
}

// AddDiscard ignores discard statistics; there is nothing to collect.
func (Store) AddDiscard(map[uint32]int64) {}

// Close does nothing.
func (Store) Close() error { return nil }
