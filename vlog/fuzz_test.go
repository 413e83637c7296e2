package vlog

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// FuzzReadRecord feeds arbitrary bytes to every reader of the format: the
// record decoder, Open (recovery of the newest segment), Read through
// pointers taken from the input, IterateSegment, Verify, and the DISCARD
// decoder. None may panic; a record that decodes must re-encode to the same
// bytes; what Open accepts must verify after a Close.
func FuzzReadRecord(f *testing.F) {
	valid := appendRecord(nil, []byte("key"), []byte("a value of some length"), 42, 7)
	f.Add(valid)
	f.Add(append(append([]byte(nil), valid...), valid...))
	f.Add(valid[:len(valid)-3])
	f.Add(append(append([]byte(nil), valid...), make([]byte, 40)...))
	f.Add(make([]byte, RecordHeaderLen))
	flipped := append([]byte(nil), valid...)
	flipped[30] ^= 1
	f.Add(append(flipped, valid...))
	f.Add(encodeDiscard(map[uint32]int64{1: 10, 2: 20}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, _, ok := decodeRecord(data); ok {
			if again := appendRecord(nil, r.key, r.value, r.version, r.expiresAt); string(again) != string(data) {
				t.Fatalf("record decodes but re-encodes differently")
			}
		}
		decodeDiscard(data)

		mem := vfs.NewMem()
		writeFile(t, mem, segPath(1), append(appendSegmentHeader(nil, 1), data...))
		o := Options{FS: mem, Dir: testDir, Threshold: 8, SegmentSize: 4096}
		_ = Verify(mem, testDir) // must only not panic
		s, err := OpenWith(o)
		if err != nil {
			if !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("Open failed with %v, want corruption", err)
			}
			return
		}
		defer s.Close()
		var ptrs []iface.ValuePtr
		for p := data; len(p) >= 8; p = p[8:] {
			ptrs = append(ptrs, iface.ValuePtr{Segment: 1,
				Offset: binary.LittleEndian.Uint32(p) % 8192, Len: binary.LittleEndian.Uint32(p[4:]) % 8192})
		}
		err = s.IterateSegment(1, func(_ []byte, _, _ uint64, ptr iface.ValuePtr, value []byte) error {
			got, err := s.Read(ptr, nil)
			if err != nil || string(got) != string(value) {
				t.Fatalf("Read of an iterated record: %v", err)
			}
			ptrs = append(ptrs, ptr)
			return nil
		})
		if err != nil {
			t.Fatalf("IterateSegment after a successful Open: %v", err)
		}
		for _, p := range ptrs {
			if _, err := s.Read(p, nil); err != nil && !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("Read(%+v) = %v", p, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := Verify(mem, testDir); err != nil {
			t.Fatalf("Verify after a successful Open: %v", err)
		}
	})
}
