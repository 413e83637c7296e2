package mvcc_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/nokv/nokv/mvcc"
)

// BenchmarkUpdate measures small read-modify-write transactions on
// distinct keys from parallel goroutines (commits are serialized).
func BenchmarkUpdate(b *testing.B) {
	db := mvcc.New(openStore(b), nil)
	b.RunParallel(func(pb *testing.PB) {
		var k [8]byte
		i := uint64(0)
		for pb.Next() {
			i++
			binary.BigEndian.PutUint64(k[:], i*7919)
			err := db.Update(func(txn *mvcc.Txn) error {
				_, _ = txn.Get(k[:])
				return txn.Set(k[:], k[:])
			})
			if err != nil && !errors.Is(err, mvcc.ErrConflict) {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkView measures point reads in read-only transactions.
func BenchmarkView(b *testing.B) {
	db := mvcc.New(openStore(b), nil)
	must(b, db.Update(func(txn *mvcc.Txn) error { return txn.Set([]byte("k"), []byte("v")) }))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := db.View(func(txn *mvcc.Txn) error { _, err := txn.Get([]byte("k")); return err }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
