package sstable

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nokv/nokv/iface"
)

// blockOf builds a block from sorted entries with a restart interval.
func blockOf(entries []kv, interval int) []byte {
	w := blockWriter{interval: interval}
	for _, e := range entries {
		w.add(e.k, e.v)
	}
	return bytes.Clone(w.finish())
}

// driveBlock runs the iterator program ops over a block that passed
// checkBlock. Each op byte picks a move; seeks take their key from the
// bytes that follow.
func driveBlock(t *testing.T, block, ops []byte) {
	var it blockIter
	it.init(block, "fuzz", 0)
	for len(ops) > 0 {
		op := ops[0]
		ops = ops[1:]
		var key []byte
		if op%6 >= 4 && len(ops) > 0 {
			n := min(int(ops[0]), len(ops)-1)
			key, ops = ops[1:1+n], ops[1+n:]
		}
		var ok bool
		switch op % 6 {
		case 0:
			ok = it.First()
		case 1:
			ok = it.Last()
		case 2:
			ok = it.Next()
		case 3:
			ok = it.Prev()
		case 4:
			ok = it.SeekGE(key)
		case 5:
			ok = it.SeekLT(key)
		}
		if ok != it.valid {
			t.Fatalf("move %d returned %v, valid %v", op%6, ok, it.valid)
		}
		if ok && (it.offset < 0 || it.next > it.restarts || it.offset >= it.next) {
			t.Fatalf("entry at [%d, %d) outside the entries [0, %d)", it.offset, it.next, it.restarts)
		}
	}
	var fresh blockIter
	fresh.init(block, "fuzz", 0)
	n := 0
	_ = fresh.forEach(func(k, v []byte) error {
		n++
		if n > len(block) {
			t.Fatal("more entries than bytes")
		}
		return nil
	})
}

// FuzzBlockIter feeds arbitrary block contents (as they are after the
// checksum and decompression) to the restart check and, when it passes, to
// an iterator program: no move may panic, loop or step outside the entry
// area; damage must only make the iterator invalid with an error.
func FuzzBlockIter(f *testing.F) {
	entries := genEntries(rand.New(rand.NewPCG(3, 4)), 40)
	for _, interval := range []int{1, 3, 16} {
		f.Add(blockOf(entries, interval), []byte{0, 2, 2, 3, 1, 3, 3, 2, 4, 3, 'k', 'a', 'b', 5, 1, 'k'})
	}
	f.Add(blockOf(entries[:1], 1), []byte{1, 3, 2, 0})
	f.Add([]byte{0, 0, 0, 0}, []byte{0, 1})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, block, ops []byte) {
		if checkBlock(block) != "" {
			return
		}
		driveBlock(t, block, ops)
	})
}

// FuzzBlockRoundTrip builds a block from entries derived from the input and
// checks that iteration and seeks in both directions find exactly them.
func FuzzBlockRoundTrip(f *testing.F) {
	f.Add([]byte("apple\x00banana\x00band\x00bandana\x00c"), uint8(2))
	f.Add([]byte("a\x00a\xff\x00\xff"), uint8(1))
	f.Add([]byte{}, uint8(16))
	f.Fuzz(func(t *testing.T, data []byte, interval uint8) {
		var entries []kv
		for i, u := range bytes.Split(data, []byte{0}) {
			entries = append(entries, kv{iface.MakeKey(nil, u, uint64(i)), []byte{byte(i)}})
		}
		slices.SortFunc(entries, func(a, b kv) int { return iface.Compare(a.k, b.k) })
		entries = slices.CompactFunc(entries, func(a, b kv) bool { return iface.Compare(a.k, b.k) == 0 })
		block := blockOf(entries, 1+int(interval%32))
		if reason := checkBlock(block); reason != "" {
			t.Fatalf("a block the writer made fails its check: %s", reason)
		}
		var it blockIter
		it.init(block, "fuzz", 0)
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			if i >= len(entries) || !bytes.Equal(it.key, entries[i].k) || !bytes.Equal(it.val, entries[i].v) {
				t.Fatalf("forward entry %d: %q", i, it.key)
			}
			i++
		}
		if i != len(entries) || it.err != nil {
			t.Fatalf("forward: %d of %d entries, err %v", i, len(entries), it.err)
		}
		i = len(entries) - 1
		for ok := it.Last(); ok; ok = it.Prev() {
			if i < 0 || !bytes.Equal(it.key, entries[i].k) {
				t.Fatalf("backward entry %d: %q", i, it.key)
			}
			i--
		}
		if i != -1 || it.err != nil {
			t.Fatalf("backward stopped at %d, err %v", i, it.err)
		}
		for j, e := range entries {
			if !it.SeekGE(e.k) || !bytes.Equal(it.key, e.k) {
				t.Fatalf("SeekGE(entry %d) landed on %q", j, it.key)
			}
			ok := it.SeekLT(e.k)
			if ok != (j > 0) || (ok && !bytes.Equal(it.key, entries[j-1].k)) {
				t.Fatalf("SeekLT(entry %d): %v at %q", j, ok, it.key)
			}
		}
	})
}

// FuzzMetaBlocks feeds arbitrary bytes to the decoders of the properties
// block, the filter block and a block handle. Whatever decodes must encode
// back to something that decodes to the same value.
func FuzzMetaBlocks(f *testing.F) {
	p := iface.TableProps{Smallest: iface.MakeKey(nil, []byte("a"), 9), Largest: iface.MakeKey(nil, []byte("z"), 1),
		Entries: 100, Deletions: 3, MinVersion: 1, MaxVersion: 9, RawKeySize: 900, RawValueSize: 5000}
	f.Add(encodeProps(nil, &p, 4))
	f.Add(buildBloom(nil, []uint64{1, 2, 3, bloomHash([]byte("k"))}, 10))
	f.Add(handle{offset: 4096, length: 300}.appendTo(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if props, n, ok := decodeProps(b); ok {
			props2, n2, ok2 := decodeProps(encodeProps(nil, &props, n))
			if !ok2 || n2 != n || !bytes.Equal(props2.Smallest, props.Smallest) || !bytes.Equal(props2.Largest, props.Largest) ||
				props2.Entries != props.Entries || props2.MaxVersion != props.MaxVersion {
				t.Fatal("properties do not survive a round trip")
			}
		}
		if bl, ok := decodeBloom(b); ok {
			for i := range 8 {
				bl.mayContain(uint64(i) * 0x9e3779b97f4a7c15)
			}
			if len(b) >= 8 {
				bl.mayContain(binary.LittleEndian.Uint64(b))
			}
		}
		if h, ok := decodeHandle(b); ok {
			if h2, ok2 := decodeHandle(h.appendTo(nil)); !ok2 || h2 != h {
				t.Fatalf("handle %+v does not survive a round trip", h)
			}
		}
	})
}
