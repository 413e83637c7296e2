package percolator

import (
	"encoding/binary"

	"github.com/nokv/nokv/backend"
)

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// Modify is one engine write a command makes: a put of Value under Key, or
// a deletion of Key. Keys are engine keys (see the package doc). A command's
// modifications are applied as one atomic batch.
type Modify struct {
	// Key is the engine key (a column family byte and an encoded key).
	Key []byte
	// Value is the value put; unused for a deletion.
	Value []byte
	// Delete makes this a deletion of Key.
	Delete bool
}

// Batch returns mods as an engine batch.
func Batch(mods []Modify) *backend.Batch {
	b := backend.NewBatch()
	for _, m := range mods {
		if m.Delete {
			b.Delete(m.Key)
		} else {
			b.Set(m.Key, m.Value)
		}
	}
	return b
}

// txnWrites collects a command's modifications; a later write to the same
// engine key replaces an earlier one, so the batch holds each key once.
type txnWrites struct {
	mods  []Modify
	index map[string]int
}

func (t *txnWrites) add(m Modify) {
	if t.index == nil {
		t.index = make(map[string]int)
	}
	if i, ok := t.index[string(m.Key)]; ok {
		t.mods[i] = m
		return
	}
	t.index[string(m.Key)] = len(t.mods)
	t.mods = append(t.mods, m)
}

func (t *txnWrites) putLock(key []byte, l *lock) {
	t.add(Modify{Key: lockKey(key), Value: l.encode()})
}

func (t *txnWrites) unlock(key []byte) { t.add(Modify{Key: lockKey(key), Delete: true}) }

func (t *txnWrites) putValue(key []byte, startTs uint64, v []byte) {
	t.add(Modify{Key: defaultKey(key, startTs), Value: v})
}

func (t *txnWrites) deleteValue(key []byte, startTs uint64) {
	t.add(Modify{Key: defaultKey(key, startTs), Delete: true})
}

func (t *txnWrites) putWrite(key []byte, commitTs uint64, w *write) {
	t.add(Modify{Key: writeKey(key, commitTs), Value: w.encode()})
}
