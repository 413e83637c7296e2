package vlog

import (
	"errors"
	iofs "io/fs"
	"math/rand/v2"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// fillSegments writes 200-byte values until the active segment is `upto`.
func fillSegments(t *testing.T, s *Store, upto uint32) []kv {
	t.Helper()
	rng := rand.New(rand.NewPCG(4, 4))
	var kvs []kv
	for v := uint64(1); s.Head().Segment < upto; v++ {
		kvs = append(kvs, writeKVs(t, s, rng, v, 200)...)
	}
	return kvs
}

func segInfo(t *testing.T, s *Store, num uint32) SegmentInfo {
	t.Helper()
	for _, si := range s.Segments() {
		if si.Number == num {
			return si
		}
	}
	t.Fatalf("segment %d not listed", num)
	return SegmentInfo{}
}

func TestPickForGC(t *testing.T) {
	s := openChecked(t, testOptions(vfs.NewMem()))
	fillSegments(t, s, 5)
	recs := segInfo(t, s, 1).Size - SegmentHeaderLen
	s.AddDiscard(map[uint32]int64{1: recs / 2, 2: recs * 9 / 10, 3: recs / 4, 5: recs})
	s.AddDiscard(map[uint32]int64{3: recs / 4, 77: 1000})
	if si := segInfo(t, s, 2); si.Discard != recs*9/10 || si.Ratio < 0.89 || si.Ratio > 0.91 || si.Active {
		t.Fatalf("segment 2: %+v", si)
	}
	if si := segInfo(t, s, 5); !si.Active {
		t.Fatalf("segment 5 should be active: %+v", si)
	}
	head := s.Head().Segment
	for _, tc := range []struct {
		ratio float64
		below uint32
		want  uint32
		ok    bool
	}{
		{0.5, head, 2, true},
		{0.95, head, 0, false},
		{0.5, 2, 1, true},  // 2 is beyond the horizon
		{0.6, 2, 0, false}, // 1 has only half
		{0, 1, 0, false},
		{0, head, 2, true},
		{0.5, 100, 2, true}, // never the active segment, whatever its garbage
	} {
		seg, ok := s.PickForGC(tc.ratio, tc.below)
		if seg != tc.want || ok != tc.ok {
			t.Errorf("PickForGC(%v, %d) = %d, %v; want %d, %v", tc.ratio, tc.below, seg, ok, tc.want, tc.ok)
		}
	}
	// Discard is capped at a segment's record bytes.
	s.AddDiscard(map[uint32]int64{1: 1 << 40})
	if si := segInfo(t, s, 1); si.Discard != recs || si.Ratio != 1 {
		t.Fatalf("segment 1 after a huge discard: %+v", si)
	}
	if seg, _ := s.PickForGC(0.5, head); seg != 1 {
		t.Fatalf("PickForGC picked %d, want the segment with the most garbage", seg)
	}
}

func TestIterateSegment(t *testing.T) {
	s := openChecked(t, testOptions(vfs.NewMem()))
	kvs := fillSegments(t, s, 3)
	want := inSegment(kvs, 2)
	var got []kv
	err := s.IterateSegment(2, func(key []byte, version, expiresAt uint64, ptr iface.ValuePtr, value []byte) error {
		got = append(got, kv{key: append([]byte(nil), key...), version: version, expiresAt: expiresAt,
			value: append([]byte(nil), value...), ptr: ptr})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("IterateSegment gave %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if string(g.key) != string(w.key) || g.version != w.version || g.expiresAt != w.expiresAt ||
			string(g.value) != string(w.value) || g.ptr != w.ptr {
			t.Fatalf("record %d: got %s@%d exp %d %+v, want %s@%d exp %d %+v",
				i, g.key, g.version, g.expiresAt, g.ptr, w.key, w.version, w.expiresAt, w.ptr)
		}
	}
	stop := errors.New("stop")
	n := 0
	err = s.IterateSegment(2, func([]byte, uint64, uint64, iface.ValuePtr, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("IterateSegment with a stopping fn = %v after %d calls", err, n)
	}
	if err := s.IterateSegment(99, nil); !errors.Is(err, iface.ErrNotFound) {
		t.Fatalf("IterateSegment(99) = %v", err)
	}
	// The active segment can be iterated too.
	if err := s.IterateSegment(s.Head().Segment, func([]byte, uint64, uint64, iface.ValuePtr, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, fs vfs.FS, path string) bool {
	t.Helper()
	_, err := fs.Stat(path)
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestRemoveSegmentWaitsForPins: a segment removed while a pin taken before
// the removal is held stays readable; releasing the pin deletes it.
func TestRemoveSegmentWaitsForPins(t *testing.T) {
	mem := vfs.NewMem()
	s := openUnchecked(t, testOptions(mem))
	kvs := fillSegments(t, s, 5)
	s.AddDiscard(map[uint32]int64{2: 100, 3: 100})
	if err := s.RemoveSegment(s.Head().Segment); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("RemoveSegment(active) = %v", err)
	}
	if err := s.RemoveSegment(99); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("RemoveSegment(99) = %v", err)
	}

	release := s.Pin()
	if err := s.RemoveSegment(2); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSegment(2); err != nil {
		t.Fatalf("second RemoveSegment = %v", err)
	}
	if si := segInfo(t, s, 2); !si.Removing || si.Discard != 0 {
		t.Fatalf("segment 2 while pinned: %+v", si)
	}
	if seg, ok := s.PickForGC(0, s.Head().Segment); !ok || seg != 3 {
		t.Fatalf("PickForGC = %d, %v; a segment being removed must not be picked", seg, ok)
	}
	checkKVs(t, s, inSegment(kvs, 2))
	if !exists(t, mem, segPath(2)) {
		t.Fatal("segment 2 deleted under a pin")
	}
	// A pin taken after the removal does not hold it.
	late := s.Pin()
	release()
	release() // a second call does nothing
	if exists(t, mem, segPath(2)) {
		t.Fatal("segment 2 not deleted after the last older pin left")
	}
	if _, err := s.Read(inSegment(kvs, 2)[0].ptr, nil); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("Read of a removed segment = %v", err)
	}
	if err := s.RemoveSegment(2); !errors.Is(err, iface.ErrNotFound) {
		t.Fatalf("RemoveSegment of a deleted segment = %v", err)
	}
	// A pin taken before a removal holds that segment too; without pins,
	// removal is immediate.
	if err := s.RemoveSegment(3); err != nil {
		t.Fatal(err)
	}
	if !exists(t, mem, segPath(3)) {
		t.Fatal("segment 3 deleted under a pin taken before its removal")
	}
	late()
	if exists(t, mem, segPath(3)) {
		t.Fatal("segment 3 not deleted after the pin left")
	}
	if err := s.RemoveSegment(4); err != nil {
		t.Fatal(err)
	}
	if exists(t, mem, segPath(4)) {
		t.Fatal("segment 4 not deleted at once without pins")
	}
	if st := s.Stats(); st.SegmentsRemoved != 3 || st.Segments != 2 {
		t.Fatalf("Stats() = %+v", st)
	}
	checkKVs(t, s, inSegment(kvs, 1))
	// The removal is durable, and the numbers go on growing after a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openChecked(t, testOptions(mem.Crash()))
	if segs := s2.Segments(); len(segs) != 2 || segs[1].Number != 5 {
		t.Fatalf("after reopen: %+v", segs)
	}
	checkKVs(t, s2, inSegment(kvs, 1))
	if more := writeKVs(t, s2, rand.New(rand.NewPCG(1, 1)), 99, 100); more[0].ptr.Segment != 5 {
		t.Fatalf("next write went to %+v", more[0].ptr)
	}
}

// TestRemoveSegmentWaitsForReaders: a Read (or IterateSegment) that holds a
// reference finishes even though the segment is removed meanwhile; the
// file goes with its last reference.
func TestRemoveSegmentWaitsForReaders(t *testing.T) {
	mem := vfs.NewMem()
	s := openChecked(t, testOptions(mem))
	kvs := inSegment(fillSegments(t, s, 3), 1)
	seg, ok, err := s.acquire(1) // what Read does first
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := s.RemoveSegment(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(kvs[0].ptr, nil); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("a Read after the removal found the segment: %v", err)
	}
	if !exists(t, mem, segPath(1)) {
		t.Fatal("deleted under a reader")
	}
	rec, err := seg.readRecord(kvs[0].ptr, nil) // the rest of that Read
	if err != nil || string(rec.value) != string(kvs[0].value) {
		t.Fatalf("the reader that held a reference failed: %v", err)
	}
	seg.unref()
	if exists(t, mem, segPath(1)) {
		t.Fatal("not deleted with the last reference")
	}
	// IterateSegment keeps its segment the same way.
	n := 0
	err = s.IterateSegment(2, func(_ []byte, _, _ uint64, ptr iface.ValuePtr, _ []byte) error {
		if n == 0 {
			if err := s.RemoveSegment(2); err != nil {
				return err
			}
		}
		n++
		return nil
	})
	if err != nil || n < 2 {
		t.Fatalf("IterateSegment across a removal: %d records, %v", n, err)
	}
	if exists(t, mem, segPath(2)) {
		t.Fatal("segment 2 not deleted after the iteration")
	}
}

// TestCloseDeletesPinnedRemovals: Close does not wait for pins.
func TestCloseDeletesPinnedRemovals(t *testing.T) {
	mem := vfs.NewMem()
	s := openChecked(t, testOptions(mem))
	fillSegments(t, s, 3)
	release := s.Pin()
	if err := s.RemoveSegment(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(t, mem, segPath(1)) {
		t.Fatal("Close left a removed segment")
	}
	release()
}

// TestDiscardSurvivesReopen: statistics are persisted by AddDiscard (every
// DiscardPersistEvery calls) and by Close; a crash loses only the updates
// since the last rewrite; removed segments drop out.
func TestDiscardSurvivesReopen(t *testing.T) {
	mem := vfs.NewMem()
	o := testOptions(mem)
	s := openUnchecked(t, o)
	fillSegments(t, s, 4)
	s.AddDiscard(map[uint32]int64{1: 111, 2: 222})
	s.AddDiscard(map[uint32]int64{2: 3})
	// Persisted by AddDiscard itself: a crash keeps it.
	crashed := mem.Crash()
	s2 := openUnchecked(t, testOptions(crashed))
	if d1, d2 := segInfo(t, s2, 1).Discard, segInfo(t, s2, 2).Discard; d1 != 111 || d2 != 225 {
		t.Fatalf("after a crash: discard %d, %d", d1, d2)
	}
	if err := s2.RemoveSegment(1); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}

	// Every 3 updates: the first two are lost by a crash, kept by Close.
	o = testOptions(crashed)
	o.DiscardPersistEvery = 3
	s3 := openUnchecked(t, o)
	if segs := s3.Segments(); segs[0].Number != 2 || segs[0].Discard != 225 {
		t.Fatalf("after removal and reopen: %+v", segs)
	}
	s3.AddDiscard(map[uint32]int64{3: 10})
	s3.AddDiscard(map[uint32]int64{3: 10})
	lost := crashed.Crash()
	s4 := openUnchecked(t, Options{FS: lost, Dir: testDir, Threshold: 32, SegmentSize: 1024, DiscardPersistEvery: 3})
	if d := segInfo(t, s4, 3).Discard; d != 0 {
		t.Fatalf("unpersisted updates survived a crash: %d", d)
	}
	s4.AddDiscard(map[uint32]int64{3: 10})
	s4.AddDiscard(map[uint32]int64{3: 10})
	s4.AddDiscard(map[uint32]int64{3: 10}) // the third rewrites DISCARD
	s4.AddDiscard(map[uint32]int64{3: 10})
	after := lost.Crash()
	s5 := openUnchecked(t, testOptions(after))
	if d := segInfo(t, s5, 3).Discard; d != 30 {
		t.Fatalf("after the third update and a crash: %d, want 30", d)
	}
	s5.AddDiscard(map[uint32]int64{3: 5})
	if err := s5.PersistDiscard(); err != nil {
		t.Fatal(err)
	}
	s6 := openChecked(t, testOptions(after.Crash()))
	if d := segInfo(t, s6, 3).Discard; d != 35 {
		t.Fatalf("after PersistDiscard and a crash: %d, want 35", d)
	}

	// With persisting left to Close, a clean Close keeps the updates.
	mem = vfs.NewMem()
	o = testOptions(mem)
	o.DiscardPersistEvery = -1
	s7 := openChecked(t, o)
	fillSegments(t, s7, 3)
	s7.AddDiscard(map[uint32]int64{1: 42})
	if exists(t, mem, testDir+"/"+discardName) {
		t.Fatal("DISCARD written before Close")
	}
	if err := s7.Close(); err != nil {
		t.Fatal(err)
	}
	s8 := openChecked(t, o)
	if d := segInfo(t, s8, 1).Discard; d != 42 {
		t.Fatalf("after Close and reopen: %d, want 42", d)
	}
}

// TestDiscardTmpLeftover: a DISCARD.tmp left by a crash mid-rewrite is
// removed and the old DISCARD kept.
func TestDiscardTmpLeftover(t *testing.T) {
	mem := vfs.NewMem()
	s := openChecked(t, testOptions(mem))
	fillSegments(t, s, 3)
	s.AddDiscard(map[uint32]int64{1: 50})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, mem, testDir+"/"+discardTmpName, []byte("half a file"))
	s2 := openChecked(t, testOptions(mem))
	if d := segInfo(t, s2, 1).Discard; d != 50 {
		t.Fatalf("discard %d", d)
	}
	if exists(t, mem, testDir+"/"+discardTmpName) {
		t.Fatal("DISCARD.tmp left behind")
	}
}
