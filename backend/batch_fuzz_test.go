package backend

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nokv/nokv/iface"
)

// decodeRecord decodes a log record as replay does: the batches of one
// commit group, back to back.
func decodeRecord(rec []byte) (versions []uint64, batches [][]iface.Entry, err error) {
	for rest := rec; len(rest) > 0; {
		v, es, r, err := decodeBatch(rest, nil)
		if err != nil {
			return nil, nil, err
		}
		if len(r) >= len(rest) {
			return nil, nil, errors.New("decodeBatch consumed nothing")
		}
		versions, batches, rest = append(versions, v), append(batches, es), r
	}
	return versions, batches, nil
}

// FuzzDecodeBatch feeds arbitrary log records to the batch decoder. It must
// return a corruption error or batches; never panic, and never allocate
// more entries than the record has bytes. What decodes must encode to a
// record that decodes to the same batches.
func FuzzDecodeBatch(f *testing.F) {
	one := encodeBatch(nil, 7, []iface.Entry{
		{Key: []byte("a"), Kind: iface.KindSet, Value: []byte("1")},
		{Key: []byte("b"), Kind: iface.KindDelete},
		{Key: []byte("c"), Kind: iface.KindSet, Value: []byte("3"), ExpiresAt: 1 << 40},
		{Key: []byte("d"), Kind: iface.KindPointer, Value: iface.ValuePtr{Segment: 1, Offset: 2, Len: 3}.Encode(nil)},
	})
	f.Add(one)
	f.Add(encodeBatch(one, 8, []iface.Entry{{Key: []byte("k"), Kind: iface.KindSet, Value: bytes.Repeat([]byte("v"), 300)}}))
	f.Add([]byte{})
	f.Add(one[:len(one)-1])
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, rec []byte) {
		versions, batches, err := decodeRecord(rec)
		if err != nil {
			if !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("%v does not match ErrCorruption", err)
			}
			return
		}
		var again []byte
		n := 0
		for i, es := range batches {
			n += len(es)
			again = encodeBatch(again, versions[i], es)
		}
		if n > len(rec) {
			t.Fatalf("%d entries from %d bytes", n, len(rec))
		}
		v2, b2, err := decodeRecord(again)
		if err != nil || len(v2) != len(versions) {
			t.Fatalf("re-encoded record: %v", err)
		}
		for i := range batches {
			if v2[i] != versions[i] || len(b2[i]) != len(batches[i]) {
				t.Fatalf("batch %d changed in a round trip", i)
			}
			for j, e := range batches[i] {
				g := b2[i][j]
				if g.Kind != e.Kind || g.ExpiresAt != e.ExpiresAt || !bytes.Equal(g.Key, e.Key) || !bytes.Equal(g.Value, e.Value) {
					t.Fatalf("batch %d entry %d changed in a round trip: %+v, then %+v", i, j, e, g)
				}
			}
		}
	})
}
