package sstable

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nokv/nokv/iface"
)

// exercise runs every read path over a table that may be damaged; it must
// not panic, and every error it meets must be corruption.
func exercise(t *testing.T, r *Reader, ref []kv) {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil && !errors.Is(err, iface.ErrCorruption) {
			t.Fatalf("error is not corruption: %v", err)
		}
	}
	it := r.NewIterator()
	n := 0
	for ok := it.First(); ok && n < 10*len(ref); ok = it.Next() {
		n++
	}
	check(it.Err())
	it.Close()
	it = r.NewIterator()
	for ok := it.Last(); ok && n < 20*len(ref); ok = it.Prev() {
		n++
	}
	check(it.Err())
	it.Close()
	for i, e := range ref {
		if i%7 != 0 {
			continue
		}
		_, _, _, err := r.Get(e.k)
		check(err)
		it = r.NewIterator()
		it.SeekGE(e.k)
		it.Prev()
		it.Next()
		it.SeekLT(e.k)
		it.Next()
		check(it.Err())
		it.Close()
		r.ApproximateOffset(e.k)
	}
}

// TestEveryByteFlip flips each byte of a small table in turn: Open or
// Verify must report corruption, and no read path may panic.
func TestEveryByteFlip(t *testing.T) {
	ref := genEntries(rand.New(rand.NewPCG(5, 6)), 60)
	for _, opts := range []Options{
		{BlockSize: 256, RestartInterval: 4},
		{BlockSize: 200, RestartInterval: 3, Compression: NoCompression, BloomBitsPerKey: NoFilter},
	} {
		f := New(opts)
		good := buildBytes(t, f, ref)
		if r, err := openBytes(f, good); err != nil || r.Verify() != nil || r.numBlocks < 4 {
			t.Fatalf("good table: %v (%d blocks)", err, r.numBlocks)
		}
		t.Logf("table of %d bytes", len(good))
		data := make([]byte, len(good))
		for pos := range good {
			// One mask per position, varied; the checksums catch any single-byte change.
			for _, mask := range []byte{[...]byte{0xff, 0x01, 0x80, 0x10}[pos%4]} {
				copy(data, good)
				data[pos] ^= mask
				r, err := openBytes(f, data)
				if err == nil {
					exercise(t, r, ref)
					err = r.Verify()
				}
				if !errors.Is(err, iface.ErrCorruption) {
					t.Fatalf("flip %#x at %d of %d: got %v", mask, pos, len(good), err)
				}
				var ce *iface.CorruptionError
				if !errors.As(err, &ce) || ce.File != "mem.sst" || ce.Offset < 0 || ce.Offset > int64(pos) {
					t.Fatalf("flip at %d: error %v does not point at or before the damage", pos, err)
				}
			}
		}
	}
}

// TestDamageUnderValidChecksums damages block contents and then fixes the
// checksum, so the structural checks (lengths, varints, restart arrays,
// handles, properties) are what stands between the damage and a panic.
func TestDamageUnderValidChecksums(t *testing.T) {
	ref := genEntries(rand.New(rand.NewPCG(7, 8)), 80)
	f := New(Options{BlockSize: 256, RestartInterval: 3, Compression: NoCompression})
	good := buildBytes(t, f, ref)
	r, err := openBytes(f, good)
	if err != nil {
		t.Fatal(err)
	}
	// Every block's handle, data blocks then meta blocks.
	var blocks []handle
	idx := blockIter{}
	idx.init(r.index, "", 0)
	for ok := idx.First(); ok; ok = idx.Next() {
		h, _ := decodeHandle(idx.val)
		blocks = append(blocks, h)
	}
	blocks = append(blocks, r.indexH, r.filterH, r.propsH)
	rng := rand.New(rand.NewPCG(9, 10))
	data := make([]byte, len(good))
	detected, total := 0, 0
	for _, h := range blocks {
		for pos := h.offset; pos < h.offset+h.length; pos++ {
			for _, delta := range []byte{[...]byte{1, 0x80, byte(rng.IntN(255) + 1)}[pos%3]} {
				copy(data, good)
				data[pos] ^= delta
				crc32Fix(data, h)
				total++
				r, err := openBytes(f, data)
				if err == nil {
					exercise(t, r, ref)
					err = r.Verify()
				}
				if err != nil {
					if !errors.Is(err, iface.ErrCorruption) {
						t.Fatalf("damage at %d: %v", pos, err)
					}
					detected++
				}
			}
		}
	}
	t.Logf("structural checks caught %d of %d checksum-valid damages", detected, total)
}

// crc32Fix recomputes the trailer checksum of the block at h.
func crc32Fix(data []byte, h handle) {
	end := h.offset + h.length
	binary.LittleEndian.PutUint32(data[end+1:], blockChecksum(data[h.offset:end+1]))
}

// TestGarbageNeverPanics opens random files, some with a well-formed footer
// pointing into the garbage.
func TestGarbageNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	f := New(Options{})
	for i := range 3000 {
		data := make([]byte, rng.IntN(3000))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(data) >= footerLen {
			foot := data[len(data)-footerLen:]
			for h := range 3 {
				off := rng.Uint64N(uint64(len(data)) + 2)
				binary.LittleEndian.PutUint64(foot[16*h:], off)
				binary.LittleEndian.PutUint64(foot[16*h+8:], rng.Uint64N(uint64(len(data))+2))
			}
			binary.LittleEndian.PutUint32(foot[48:], formatVersion)
			binary.LittleEndian.PutUint32(foot[52:], blockChecksum(foot[:52]))
			binary.LittleEndian.PutUint64(foot[56:], magic)
		}
		r, err := openBytes(f, data)
		if err == nil {
			exercise(t, r, nil)
			err = r.Verify()
		}
		if err == nil && len(data) > 0 {
			t.Fatalf("garbage of %d bytes accepted", len(data))
		}
		if err != nil && !errors.Is(err, iface.ErrCorruption) {
			t.Fatalf("garbage: %v", err)
		}
	}
}

// FuzzOpen feeds arbitrary bytes to Open and every read path. Run it with
// `go test -fuzz FuzzOpen ./sstable/`; plain `go test` runs the seeds.
func FuzzOpen(f *testing.F) {
	ref := genEntries(rand.New(rand.NewPCG(19, 20)), 30)
	for _, opts := range []Options{{BlockSize: 128}, {BlockSize: 128, Compression: NoCompression, BloomBitsPerKey: NoFilter}} {
		f.Add(buildBytes(f, New(opts), ref))
	}
	f.Add([]byte{})
	format := New(Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := openBytes(format, data)
		if err == nil {
			exercise(t, r, ref)
			err = r.Verify()
		}
		if err != nil && !errors.Is(err, iface.ErrCorruption) && !errors.Is(err, iface.ErrIncompatible) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
