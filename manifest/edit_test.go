package manifest

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
)

// ikey builds an internal key.
func ikey(user string, version uint64) []byte { return iface.MakeKey(nil, []byte(user), version) }

func meta(id uint64, lo, hi string) iface.TableMeta {
	return iface.TableMeta{
		ID: id, Size: int64(1000 + id), Smallest: ikey(lo, 9), Largest: ikey(hi, 1),
		Entries: 10 * id, Deletions: id, MinVersion: 1, MaxVersion: 9,
	}
}

func seqMeta(m iface.TableMeta, seq uint64) iface.TableMeta { m.Seq = seq; return m }

func fullEdit() *Edit {
	return &Edit{
		Components:        map[string]string{"table": "sstable/v1", "valuestore": "inline", "": "empty name"},
		LogCheckpoint:     &iface.LogPosition{Segment: 7, Offset: 4096},
		NextFileNum:       42,
		LastVersion:       math.MaxUint64,
		ValueLogHead:      &iface.ValuePtr{Segment: 1<<32 - 1, Offset: 12345},
		AddValueSegments:  []uint32{1, 2, 1<<32 - 1},
		DropValueSegments: []uint32{7},
		AddTables: []TableEntry{{Level: 0, Meta: meta(5, "a", "m")}, {Level: 3, Meta: meta(6, "n", "z")},
			{Level: 4, Meta: seqMeta(meta(8, "b", "c"), 7), Ingest: true, Shard: 2}, {Level: 5, Meta: seqMeta(meta(9, "d", "e"), 3)}},
		DeleteTables: []TableRef{{Level: 1, ID: 2}, {Level: 15, ID: math.MaxUint64}},
	}
}

func roundTrip(t *testing.T, e *Edit) {
	t.Helper()
	b := e.Encode(nil)
	got, err := DecodeEdit(b)
	if err != nil {
		t.Fatalf("decode: %v\nedit: %+v", err, e)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, e)
	}
	if b2 := got.Encode(nil); string(b2) != string(b) {
		t.Fatalf("re-encoding differs")
	}
}

func TestEditRoundTrip(t *testing.T) {
	roundTrip(t, &Edit{})
	roundTrip(t, fullEdit())
	roundTrip(t, &Edit{LogCheckpoint: &iface.LogPosition{}})
	roundTrip(t, &Edit{AddTables: []TableEntry{{Level: -1, Meta: iface.TableMeta{ID: 1, Size: -5}}}})
	if n := len((&Edit{}).Encode(nil)); n != 0 {
		t.Fatalf("empty edit encodes to %d bytes", n)
	}
}

// randEdit makes an arbitrary (not necessarily applicable) edit in the
// canonical form DecodeEdit returns: nil for empty maps, slices and keys.
func randEdit(rng *rand.Rand) *Edit {
	e := &Edit{}
	randBytes := func() []byte {
		n := rng.IntN(3) * rng.IntN(20)
		if n == 0 {
			return nil
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	randU64 := func() uint64 {
		switch rng.IntN(3) {
		case 0:
			return uint64(rng.IntN(10))
		case 1:
			return rng.Uint64()
		}
		return uint64(rng.IntN(1 << 20))
	}
	if rng.IntN(2) == 0 {
		e.Components = map[string]string{}
		for range 1 + rng.IntN(3) {
			e.Components[string(randBytes())] = string(randBytes())
		}
	}
	if rng.IntN(2) == 0 {
		e.LogCheckpoint = &iface.LogPosition{Segment: randU64(), Offset: int64(randU64())}
	}
	if rng.IntN(2) == 0 {
		e.NextFileNum = randU64()
	}
	if rng.IntN(2) == 0 {
		e.LastVersion = randU64()
	}
	for range rng.IntN(4) {
		e.DeleteTables = append(e.DeleteTables, TableRef{Level: rng.IntN(40) - 5, ID: randU64()})
	}
	for range rng.IntN(4) {
		e.AddTables = append(e.AddTables, TableEntry{Level: rng.IntN(40) - 5, Meta: iface.TableMeta{
			ID: randU64(), Size: int64(randU64()), Smallest: randBytes(), Largest: randBytes(),
			Entries: randU64(), Deletions: randU64(), MinVersion: randU64(), MaxVersion: randU64(),
		}})
		a := &e.AddTables[len(e.AddTables)-1]
		switch rng.IntN(3) {
		case 0: // an ingest-buffer table
			a.Ingest, a.Shard, a.Meta.Seq = true, rng.IntN(MaxIngestShards), randU64()
		case 1: // a main-run table with an explicit Seq (0 stays tag 6)
			a.Meta.Seq = randU64()
		}
	}
	return e
}

func TestEditRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		roundTrip(t, randEdit(rng))
	}
}

func TestDecodeEditTruncated(t *testing.T) {
	b := fullEdit().Encode(nil)
	for n := range len(b) {
		if _, err := DecodeEdit(b[:n]); n > 0 && err == nil {
			// A cut exactly between fields is a valid, shorter edit.
			continue
		} else if err != nil && !errors.Is(err, iface.ErrCorruption) {
			t.Fatalf("cut at %d: error %v does not match ErrCorruption", n, err)
		}
	}
}

func TestDecodeEditGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	good := fullEdit().Encode(nil)
	for i := range 20000 {
		var b []byte
		if i%2 == 0 {
			b = make([]byte, rng.IntN(64))
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
		} else {
			// Mutate a valid encoding: more likely to get deep into a field.
			b = append([]byte(nil), good...)
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			}
		}
		e, err := DecodeEdit(b)
		if err != nil {
			if !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("error %v does not match ErrCorruption", err)
			}
			continue
		}
		roundTripDecoded(t, e)
	}
}

// roundTripDecoded checks that a decoded edit re-encodes to an equal edit.
func roundTripDecoded(t *testing.T, e *Edit) {
	t.Helper()
	got, err := DecodeEdit(e.Encode(nil))
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("re-decode differs:\n got %+v\nwant %+v", got, e)
	}
}

func TestDecodeEditUnknownTag(t *testing.T) {
	for _, tc := range []struct {
		tag  uint64
		want string
	}{{40, "unknown field tag 40"}, {10, "field tag 10 (region descriptor)"}, {11, "region removed"}} {
		b := appendField(fullEdit().Encode(nil), tc.tag, []byte{1, 2, 3})
		_, err := DecodeEdit(b)
		if err == nil || !errors.Is(err, iface.ErrIncompatible) || !errors.Is(err, iface.ErrCorruption) {
			t.Fatalf("tag %d: got %v, want an error matching ErrIncompatible and ErrCorruption", tc.tag, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("tag %d: error %q does not mention %q", tc.tag, err, tc.want)
		}
	}
}

func TestDecodeEditStructuralErrors(t *testing.T) {
	cases := map[string][]byte{
		"tag 0":                 appendField(nil, 0, nil),
		"repeated next file":    appendField(appendField(nil, tagNextFileNum, []byte{1}), tagNextFileNum, []byte{2}),
		"repeated component":    append((&Edit{Components: map[string]string{"a": "b"}}).Encode(nil), (&Edit{Components: map[string]string{"a": "c"}}).Encode(nil)...),
		"trailing body bytes":   appendField(nil, tagLastVersion, []byte{1, 2}),
		"field past end":        {tagLastVersion, 5, 1},
		"truncated varint":      appendField(nil, tagLastVersion, []byte{0x80}),
		"key longer than field": appendField(nil, tagAddTable, []byte{0, 1, 1, 9, 'a'}),
		"overlong varint":       appendField(nil, tagLastVersion, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
		"huge field length":     {tagLastVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range cases {
		if _, err := DecodeEdit(b); !errors.Is(err, iface.ErrCorruption) {
			t.Errorf("%s: got %v, want ErrCorruption", name, err)
		}
	}
}

func FuzzDecodeEdit(f *testing.F) {
	f.Add([]byte{})
	f.Add(fullEdit().Encode(nil))
	f.Add((&Edit{LogCheckpoint: &iface.LogPosition{Segment: 1}}).Encode(nil))
	f.Add(appendField(nil, 99, []byte("future")))
	f.Add([]byte{tagAddTable, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEdit(b)
		if err != nil {
			if !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("error %v does not match ErrCorruption", err)
			}
			return
		}
		roundTripDecoded(t, e)
		// Applying must never panic either, valid or not.
		_ = (&State{}).Apply(e)
	})
}
