package vlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

const testDir = "/db/vlog"

// testOptions are small: a 32-byte threshold and 1 KiB segments, so a few
// writes cross several segments.
func testOptions(fs vfs.FS) Options {
	return Options{FS: fs, Dir: testDir, Threshold: 32, SegmentSize: 1024}
}

// openChecked opens a store and, at the end of the test, closes it (unless
// the test did) and verifies every file in its directory: the consistency
// check every test store gets.
func openChecked(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := OpenWith(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, iface.ErrClosed) {
			t.Errorf("cleanup: close: %v", err)
		}
		if err := Verify(o.FS, o.Dir); err != nil {
			t.Errorf("cleanup: verify: %v", err)
		}
	})
	return s
}

// openUnchecked opens a store for a test that damages or crashes it.
func openUnchecked(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := OpenWith(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// kv is one value written through a store, with where it went.
type kv struct {
	key       []byte
	version   uint64
	expiresAt uint64
	value     []byte
	ptr       iface.ValuePtr
	inline    bool
}

// writeKVs writes one batch with values of the given sizes (versions from
// version) and returns what was written. Values below the threshold stay
// inline and are returned with inline set.
func writeKVs(t testing.TB, s *Store, rng *rand.Rand, version uint64, sizes ...int) []kv {
	t.Helper()
	entries := make([]iface.Entry, len(sizes))
	out := make([]kv, len(sizes))
	for i, n := range sizes {
		v := make([]byte, n)
		for j := range v {
			v[j] = byte(rng.Uint32())
		}
		k := kv{key: fmt.Appendf(nil, "k%06d.%d", version, i), version: version, value: v}
		if rng.IntN(4) == 0 {
			k.expiresAt = 2_000_000_000 + rng.Uint64N(1000)
		}
		entries[i] = iface.Entry{Key: k.key, Version: version, Kind: iface.KindSet, Value: append([]byte(nil), v...), ExpiresAt: k.expiresAt}
		out[i] = k
	}
	if err := s.Write(entries); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for i := range entries {
		if entries[i].Kind.Base() != iface.KindPointer {
			out[i].inline = true
			continue
		}
		p, err := iface.DecodeValuePtr(entries[i].Value)
		if err != nil {
			t.Fatal(err)
		}
		out[i].ptr = p
	}
	return out
}

// checkKVs reads back every separated value.
func checkKVs(t testing.TB, s *Store, kvs []kv) {
	t.Helper()
	var dst []byte
	for _, k := range kvs {
		if k.inline {
			continue
		}
		var err error
		dst, err = s.Read(k.ptr, dst[:0])
		if err != nil {
			t.Fatalf("Read(%s at %+v): %v", k.key, k.ptr, err)
		}
		if !bytes.Equal(dst, k.value) {
			t.Fatalf("Read(%s at %+v): wrong value", k.key, k.ptr)
		}
	}
}

// wantCorruption checks err is a *iface.CorruptionError in file at offset.
func wantCorruption(t *testing.T, err error, file string, off int64) {
	t.Helper()
	var ce *iface.CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a corruption error in %s at %d", err, file, off)
	}
	if ce.File != file || ce.Offset != off {
		t.Fatalf("corruption reported in %s at %d, want %s at %d (%v)", ce.File, ce.Offset, file, off, err)
	}
	if !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("errors.Is(%v, ErrCorruption) is false", err)
	}
}

func segPath(num uint32) string { return testDir + "/" + segmentName(num) }

func TestWriteReadThreshold(t *testing.T) {
	s := openChecked(t, Options{FS: vfs.NewMem(), Dir: testDir, Threshold: 100})
	if s.Name() != "vlog/v1" {
		t.Fatalf("Name() = %q", s.Name())
	}
	entries := []iface.Entry{
		{Key: []byte("small"), Version: 7, Kind: iface.KindSet, Value: bytes.Repeat([]byte{1}, 99)},
		{Key: []byte("exact"), Version: 7, Kind: iface.KindSet, Value: bytes.Repeat([]byte{2}, 100)},
		{Key: []byte("del"), Version: 7, Kind: iface.KindDelete},
		{Key: []byte("big"), Version: 7, Kind: iface.KindSet, Value: bytes.Repeat([]byte{3}, 5000), ExpiresAt: 1234},
		{Key: []byte("flagged"), Version: 7, Kind: iface.KindSet | iface.KindFlagExpires, Value: bytes.Repeat([]byte{4}, 200), ExpiresAt: 99},
		{Key: []byte("ptr"), Version: 7, Kind: iface.KindPointer, Value: make([]byte, iface.ValuePtrLen)},
	}
	if err := s.Write(entries); err != nil {
		t.Fatal(err)
	}
	wantKinds := []iface.Kind{iface.KindSet, iface.KindPointer, iface.KindDelete, iface.KindPointer,
		iface.KindPointer | iface.KindFlagExpires, iface.KindPointer}
	for i, e := range entries {
		if e.Kind != wantKinds[i] {
			t.Errorf("entry %s: kind %v (%d), want %v (%d)", e.Key, e.Kind, e.Kind, wantKinds[i], wantKinds[i])
		}
	}
	if len(entries[0].Value) != 99 {
		t.Fatal("a value below the threshold was changed")
	}
	// The three pointers are consecutive 12-byte slices of one arena.
	a1, a3 := unsafe.SliceData(entries[1].Value), unsafe.SliceData(entries[3].Value)
	if cap(entries[1].Value) != iface.ValuePtrLen || uintptr(unsafe.Pointer(a3)) != uintptr(unsafe.Pointer(a1))+iface.ValuePtrLen {
		t.Error("the pointers of one Write should be consecutive 12-byte slices of one arena")
	}
	// The first record starts right after the header, the others follow.
	var ptrs []iface.ValuePtr
	off := uint32(SegmentHeaderLen)
	for _, i := range []int{1, 3, 4} {
		p, err := iface.DecodeValuePtr(entries[i].Value)
		if err != nil {
			t.Fatal(err)
		}
		want := iface.ValuePtr{Segment: 1, Offset: off, Len: uint32(RecordOverhead + len(entries[i].Key) + []int{1: 100, 3: 5000, 4: 200}[i])}
		if p != want {
			t.Fatalf("pointer of entry %d = %+v, want %+v", i, p, want)
		}
		ptrs = append(ptrs, p)
		off += p.Len
	}
	if h := s.Head(); h != (iface.ValuePtr{Segment: 1, Offset: off}) {
		t.Fatalf("Head() = %+v, want segment 1 offset %d", h, off)
	}
	got, err := s.Read(ptrs[1], []byte("x"))
	if err != nil || !bytes.Equal(got, append([]byte("x"), bytes.Repeat([]byte{3}, 5000)...)) {
		t.Fatalf("Read = %d bytes, %v", len(got), err)
	}
	// Records carry key, version and expiry.
	var keys []string
	err = s.IterateSegment(1, func(key []byte, version, expiresAt uint64, ptr iface.ValuePtr, value []byte) error {
		keys = append(keys, fmt.Sprintf("%s@%d exp=%d len=%d %v", key, version, expiresAt, len(value), ptr == ptrs[len(keys)]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"exact@7 exp=0 len=100 true", "big@7 exp=1234 len=5000 true", "flagged@7 exp=99 len=200 true"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Fatalf("IterateSegment: %q, want %q", keys, want)
	}
	if st := s.Stats(); st.Records != 3 || st.Reads != 1 || st.Segments != 1 || st.BytesWritten != int64(off-SegmentHeaderLen) {
		t.Fatalf("Stats() = %+v", st)
	}
}

func TestDefaultsAndValidation(t *testing.T) {
	o := Options{Dir: "x"}
	o.EnsureDefaults()
	if o.Threshold != DefaultThreshold || o.SegmentSize != DefaultSegmentSize || o.FS == nil || o.DiscardPersistEvery != 1 {
		t.Fatalf("defaults: %+v", o)
	}
	for _, bad := range []Options{
		{FS: vfs.NewMem()},
		{FS: vfs.NewMem(), Dir: "d", Threshold: -1},
		{FS: vfs.NewMem(), Dir: "d", SegmentSize: 10},
		{FS: vfs.NewMem(), Dir: "d", SegmentSize: MaxSegmentSize + 1},
	} {
		if _, err := OpenWith(bad); !errors.Is(err, iface.ErrInvalidArgument) {
			t.Errorf("OpenWith(%+v) = %v, want ErrInvalidArgument", bad, err)
		}
	}
	// New and Open take the engine's options; a zero threshold is the default.
	mem := vfs.NewMem()
	vs, err := New(iface.ValueStoreOptions{FS: mem, Dir: "/a"})
	if err != nil {
		t.Fatal(err)
	}
	if vs.(*Store).Threshold() != DefaultThreshold {
		t.Fatal("threshold default")
	}
	vs.Close()
	vs, err = NewWithOptions(Options{Threshold: 5, SegmentSize: 4096})(iface.ValueStoreOptions{FS: mem, Dir: "/b", Threshold: 77})
	if err != nil {
		t.Fatal(err)
	}
	if s := vs.(*Store); s.Threshold() != 77 || s.opts.SegmentSize != 4096 {
		t.Fatalf("NewWithOptions: %+v", s.opts)
	}
	vs.Close()
	// The directory is created, durably.
	if _, err := mem.Crash().Stat("/b"); err != nil {
		t.Fatal(err)
	}
}

func TestLimitsAndClosed(t *testing.T) {
	s := openChecked(t, testOptions(vfs.NewMem()))
	big := []iface.Entry{{Key: make([]byte, MaxKeyLen+1), Kind: iface.KindSet, Value: make([]byte, 64)}}
	if err := s.Write(big); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("Write(huge key) = %v", err)
	}
	if big[0].Kind != iface.KindSet {
		t.Fatal("a failed Write changed an entry")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, iface.ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	e := []iface.Entry{{Key: []byte("k"), Kind: iface.KindSet, Value: make([]byte, 64)}}
	if err := s.Write(e); !errors.Is(err, iface.ErrClosed) {
		t.Fatalf("Write after Close = %v", err)
	}
	if err := s.Sync(); !errors.Is(err, iface.ErrClosed) {
		t.Fatalf("Sync after Close = %v", err)
	}
	if _, err := s.Read(iface.ValuePtr{Segment: 1, Offset: 16, Len: 40}, nil); !errors.Is(err, iface.ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
	if err := s.RemoveSegment(1); !errors.Is(err, iface.ErrClosed) {
		t.Fatalf("RemoveSegment after Close = %v", err)
	}
	s.AddDiscard(map[uint32]int64{1: 1}) // ignored
}

func TestRotation(t *testing.T) {
	mem := vfs.NewMem()
	s := openUnchecked(t, testOptions(mem))
	rng := rand.New(rand.NewPCG(1, 1))
	var all []kv
	for v := uint64(1); v <= 60; v++ {
		all = append(all, writeKVs(t, s, rng, v, 50+rng.IntN(300), rng.IntN(40))...)
	}
	// A batch larger than a segment is split over segments; a record larger
	// than a segment gets one of its own.
	all = append(all, writeKVs(t, s, rng, 61, 400, 400, 400, 400, 3000, 10)...)
	checkKVs(t, s, all)
	segs := s.Segments()
	if len(segs) < 10 {
		t.Fatalf("only %d segments", len(segs))
	}
	for i, si := range segs {
		if si.Number != uint32(i+1) {
			t.Fatalf("segments %v are not numbered 1..n", segs)
		}
		if si.Active != (i == len(segs)-1) {
			t.Fatalf("segment %d active=%v", si.Number, si.Active)
		}
		big := false
		for _, k := range all {
			big = big || (!k.inline && k.ptr.Segment == si.Number && k.ptr.Len > 1024)
		}
		if si.Size > 1024 && !big {
			t.Fatalf("segment %d has %d bytes, over the segment size", si.Number, si.Size)
		}
	}
	// Every sealed segment was fsynced when sealed: a crash now loses only
	// what went into the active segment since the last Sync.
	crashed := mem.Crash()
	s2 := openChecked(t, testOptions(crashed))
	active := segs[len(segs)-1].Number
	var sealed []kv
	for _, k := range all {
		if !k.inline && k.ptr.Segment < active {
			sealed = append(sealed, k)
		}
	}
	checkKVs(t, s2, sealed)
}

func TestReopenContinuesActiveSegment(t *testing.T) {
	mem := vfs.NewMem()
	o := testOptions(mem)
	o.SegmentSize = 1 << 20
	s := openChecked(t, o)
	rng := rand.New(rand.NewPCG(2, 2))
	all := writeKVs(t, s, rng, 1, 100, 200)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openChecked(t, o)
	all = append(all, writeKVs(t, s2, rng, 2, 300)...)
	if all[2].ptr.Segment != 1 || all[2].ptr.Offset != all[1].ptr.Offset+all[1].ptr.Len {
		t.Fatalf("after reopen the next record went to %+v", all[2].ptr)
	}
	checkKVs(t, s2, all)
}

func TestReadBadPointers(t *testing.T) {
	s := openChecked(t, testOptions(vfs.NewMem()))
	rng := rand.New(rand.NewPCG(3, 3))
	kvs := writeKVs(t, s, rng, 1, 100, 100)
	p := kvs[1].ptr
	for _, bad := range []iface.ValuePtr{
		{Segment: 1, Offset: p.Offset, Len: p.Len + 1},          // past the end
		{Segment: 1, Offset: p.Offset + 1, Len: p.Len - 1},      // not a record start
		{Segment: 1, Offset: kvs[0].ptr.Offset, Len: p.Len - 1}, // wrong length
		{Segment: 1, Offset: 0, Len: p.Len},                     // the header
		{Segment: 1, Offset: p.Offset, Len: 3},                  // too short
		{Segment: 1, Offset: p.Offset, Len: 0xffffffff},         // huge
		{Segment: 2, Offset: p.Offset, Len: p.Len},              // no such segment
	} {
		dst := []byte("keep")
		got, err := s.Read(bad, dst)
		if !errors.Is(err, iface.ErrCorruption) {
			t.Errorf("Read(%+v) = %v, want corruption", bad, err)
		}
		if string(got) != "keep" {
			t.Errorf("Read(%+v) changed dst on error", bad)
		}
	}
}
