package vlog

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// TestRecordedLiveSet opens a store against manifest records of its live
// set: a recorded segment whose file is missing fails Open naming the file;
// an unrecorded file below the head (GC dropped it, a crash kept the file)
// is removed; unrecorded files at or past the head are kept; an empty live
// set checks nothing.
func TestRecordedLiveSet(t *testing.T) {
	fs := vfs.NewMem()
	o := testOptions(fs)
	s := openUnchecked(t, o)
	rng := rand.New(rand.NewPCG(1, 2))
	var kvs []kv
	for v := uint64(1); s.Head().Segment < 6; v++ {
		kvs = append(kvs, writeKVs(t, s, rng, v, 300, 200)...)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	live := func(kvs []kv, segs ...uint32) []kv {
		var out []kv
		for _, k := range kvs {
			for _, n := range segs {
				if !k.inline && k.ptr.Segment == n {
					out = append(out, k)
				}
			}
		}
		return out
	}
	head := iface.ValuePtr{Segment: 4, Offset: SegmentHeaderLen}

	// Segment 2 was dropped by GC; segments 5 and 6 are past the head.
	o.Recorded = &iface.ValueLogRecord{Head: head, Live: []uint32{1, 3, 4}}
	ro, err := OpenReadOnly(fs, testDir) // no record: sees every file
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ro.Segments()); n != 6 {
		t.Fatalf("read-only store without a record lists %d segments, want 6", n)
	}
	ro.Close()
	s = openChecked(t, o)
	var nums []uint32
	for _, si := range s.Segments() {
		nums = append(nums, si.Number)
	}
	if want := []uint32{1, 3, 4, 5, 6}; !slices.Equal(nums, want) {
		t.Fatalf("segments after open = %v, want %v", nums, want)
	}
	if st := s.Stats(); st.Orphans != 1 {
		t.Fatalf("Orphans = %d, want 1", st.Orphans)
	}
	if _, err := fs.Stat(segPath(2)); err == nil {
		t.Fatalf("orphan %s was not removed", segPath(2))
	}
	checkKVs(t, s, live(kvs, 1, 3, 4, 5, 6))
	s.Close()

	// A recorded segment whose file is gone.
	o.Recorded = &iface.ValueLogRecord{Head: head, Live: []uint32{1, 2, 3, 4}}
	_, err = OpenWith(o)
	wantCorruption(t, err, segPath(2), -1)

	// An empty live set (a store from before the set was recorded) keeps
	// every file, however old.
	o.Recorded = &iface.ValueLogRecord{Head: iface.ValuePtr{Segment: 6}}
	s = openChecked(t, o)
	if n := len(s.Segments()); n != 5 {
		t.Fatalf("segments = %d, want 5", n)
	}
}
