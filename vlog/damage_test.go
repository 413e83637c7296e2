package vlog

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// flipByte flips the bits of mask in the byte at off of a MemFS file.
func flipByte(t *testing.T, fs *vfs.MemFS, path string, off int64, mask byte) {
	t.Helper()
	b := readFile(t, fs, path)
	b[off] ^= mask
	writeFile(t, fs, path, b)
}

// threeSegments writes records over segments 1..3 and closes the store.
func threeSegments(t *testing.T) (*vfs.MemFS, []kv) {
	t.Helper()
	mem := vfs.NewMem()
	s := openUnchecked(t, testOptions(mem))
	rng := rand.New(rand.NewPCG(9, 9))
	var kvs []kv
	for v := uint64(1); s.Head().Segment < 3; v++ {
		kvs = append(kvs, writeKVs(t, s, rng, v, 150)...)
	}
	kvs = append(kvs, writeKVs(t, s, rng, 1000, 150)...)
	kvs = append(kvs, writeKVs(t, s, rng, 1001, 150)...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return mem, kvs
}

func inSegment(kvs []kv, seg uint32) []kv {
	var out []kv
	for _, k := range kvs {
		if k.ptr.Segment == seg {
			out = append(out, k)
		}
	}
	return out
}

// TestFlippedByteInSealedSegment: Open does not read sealed segments
// through, so it succeeds; Read of the damaged record, IterateSegment and
// Verify all report the file and the record's offset; other records read.
func TestFlippedByteInSealedSegment(t *testing.T) {
	for _, where := range []string{"value", "key", "length", "trailer"} {
		mem, kvs := threeSegments(t)
		seg1 := inSegment(kvs, 1)
		victim := seg1[1]
		off := int64(victim.ptr.Offset)
		switch where {
		case "value":
			off += int64(victim.ptr.Len) - 10
		case "key":
			off += RecordHeaderLen + 1
		case "length":
			off += 4
		case "trailer":
			off += int64(victim.ptr.Len) - 1
		}
		flipByte(t, mem, segPath(1), off, 0x10)
		s := openUnchecked(t, testOptions(mem))
		_, err := s.Read(victim.ptr, nil)
		wantCorruption(t, err, segPath(1), int64(victim.ptr.Offset))
		checkKVs(t, s, append(inSegment(kvs, 2), seg1[0], seg1[2]))
		err = s.IterateSegment(1, func([]byte, uint64, uint64, iface.ValuePtr, []byte) error { return nil })
		wantCorruption(t, err, segPath(1), int64(victim.ptr.Offset))
		s.Close()
		wantCorruption(t, Verify(mem, testDir), segPath(1), int64(victim.ptr.Offset))
	}
}

// TestFlippedByteInNewestSegment: the newest segment is read through at
// Open; damage with records after it fails Open, naming file and offset.
// A damaged length is damage too, thanks to the header checksum, not a torn
// tail. Damage in the very last record cannot be told from a torn write and
// is trimmed (and Verify reports it beforehand).
func TestFlippedByteInNewestSegment(t *testing.T) {
	for _, field := range []int64{0, 5, 12, 20, 26, RecordHeaderLen + 2, 100} {
		mem, kvs := threeSegments(t)
		seg3 := inSegment(kvs, 3)
		victim := seg3[0]
		flipByte(t, mem, segPath(3), int64(victim.ptr.Offset)+field, 0x01)
		_, err := OpenWith(testOptions(mem))
		wantCorruption(t, err, segPath(3), int64(victim.ptr.Offset))
		wantCorruption(t, Verify(mem, testDir), segPath(3), int64(victim.ptr.Offset))
	}
	mem, kvs := threeSegments(t)
	seg3 := inSegment(kvs, 3)
	last := seg3[len(seg3)-1]
	flipByte(t, mem, segPath(3), int64(last.ptr.Offset+last.ptr.Len)-20, 0x01)
	wantCorruption(t, Verify(mem, testDir), segPath(3), int64(last.ptr.Offset))
	s := openUnchecked(t, testOptions(mem))
	if s.Stats().TornTails != 1 {
		t.Fatal("a damaged last record was not trimmed as a torn tail")
	}
	checkKVs(t, s, seg3[:len(seg3)-1])
	if h := s.Head(); h.Offset != last.ptr.Offset {
		t.Fatalf("head %+v after trimming the record at %d", h, last.ptr.Offset)
	}
}

// TestBadHeaders checks segment headers: magic, checksum, number, version.
func TestBadHeaders(t *testing.T) {
	for _, off := range []int64{0, 3, 6, 9, 13} {
		mem, _ := threeSegments(t)
		flipByte(t, mem, segPath(1), off, 0x40)
		_, err := OpenWith(testOptions(mem))
		wantCorruption(t, err, segPath(1), 0)
		wantCorruption(t, Verify(mem, testDir), segPath(1), 0)
	}
	// A valid header naming another segment.
	mem, _ := threeSegments(t)
	b := readFile(t, mem, segPath(2))
	copy(b, appendSegmentHeader(nil, 7))
	writeFile(t, mem, segPath(2), b)
	_, err := OpenWith(testOptions(mem))
	wantCorruption(t, err, segPath(2), 0)
	// A format version from the future is incompatible, not corrupt.
	mem, _ = threeSegments(t)
	b = readFile(t, mem, segPath(1))
	binary.LittleEndian.PutUint32(b[4:], FormatVersion+1)
	binary.LittleEndian.PutUint32(b[12:], record.Checksum(b[:12]))
	writeFile(t, mem, segPath(1), b)
	if _, err := OpenWith(testOptions(mem)); !errors.Is(err, iface.ErrIncompatible) {
		t.Fatalf("open with a newer format = %v", err)
	}
	if err := Verify(mem, testDir); !errors.Is(err, iface.ErrIncompatible) {
		t.Fatalf("verify of a newer format = %v", err)
	}
	// Two names for one segment number.
	mem, _ = threeSegments(t)
	writeFile(t, mem, testDir+"/2.vlog", readFile(t, mem, segPath(2)))
	_, err = OpenWith(testOptions(mem))
	wantCorruption(t, err, testDir+"/2.vlog", -1)
}

// TestDamagedDiscardFile: DISCARD is checksummed; damage fails Open and
// Verify with a message saying it may be deleted.
func TestDamagedDiscardFile(t *testing.T) {
	mem := vfs.NewMem()
	s := openChecked(t, testOptions(mem))
	rng := rand.New(rand.NewPCG(1, 1))
	for v := uint64(1); s.Head().Segment < 3; v++ {
		writeKVs(t, s, rng, v, 200)
	}
	s.AddDiscard(map[uint32]int64{1: 300, 2: 400})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, mem, testDir+"/"+discardName)
	for off := range int64(len(good)) {
		flipByte(t, mem, testDir+"/"+discardName, off, 0x04)
		_, err := OpenWith(testOptions(mem))
		wantCorruption(t, err, testDir+"/"+discardName, 0)
		wantCorruption(t, Verify(mem, testDir), testDir+"/"+discardName, 0)
		writeFile(t, mem, testDir+"/"+discardName, good)
	}
	// Deleting it resets the statistics.
	if err := mem.Remove(testDir + "/" + discardName); err != nil {
		t.Fatal(err)
	}
	s2 := openChecked(t, testOptions(mem))
	if st := s2.Stats(); st.DiscardBytes != 0 {
		t.Fatalf("discard bytes %d without a DISCARD file", st.DiscardBytes)
	}
}

// TestReadOnly: OpenReadOnly changes nothing, even with a torn tail, and
// reads what is there.
func TestReadOnly(t *testing.T) {
	mem, kvs := threeSegments(t)
	appendFile(t, mem, segPath(3), []byte{1, 2, 3})
	before := readFile(t, mem, segPath(3))
	s, err := OpenReadOnly(mem, testDir)
	if err != nil {
		t.Fatal(err)
	}
	checkKVs(t, s, kvs)
	if err := s.Write([]iface.Entry{{Key: []byte("k"), Kind: iface.KindSet, Value: make([]byte, 100)}}); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("Write on a read-only store = %v", err)
	}
	if err := s.RemoveSegment(1); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("RemoveSegment on a read-only store = %v", err)
	}
	s.AddDiscard(map[uint32]int64{1: 10})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if string(readFile(t, mem, segPath(3))) != string(before) {
		t.Fatal("OpenReadOnly changed the newest segment")
	}
	if _, err := mem.Stat(testDir + "/" + discardName); err == nil {
		t.Fatal("OpenReadOnly wrote DISCARD")
	}
	if _, err := OpenReadOnly(mem, "/missing"); err == nil {
		t.Fatal("OpenReadOnly of a missing directory succeeded")
	}
	if err := Verify(mem, "/missing"); err != nil {
		t.Fatalf("Verify of a missing directory = %v", err)
	}
}
