package vlog

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// readOutcome reads k and reports whether it came back right; a pointer
// into lost data must fail with a corruption error, never return a wrong
// value.
func readOutcome(t *testing.T, s *Store, k kv) bool {
	t.Helper()
	got, err := s.Read(k.ptr, nil)
	if err != nil {
		if !errors.Is(err, iface.ErrCorruption) {
			t.Fatalf("Read(%+v) = %v, want a value or a corruption error", k.ptr, err)
		}
		return false
	}
	if string(got) != string(k.value) {
		t.Fatalf("Read(%+v) returned a wrong value", k.ptr)
	}
	return true
}

// TestCrashTornWrites crashes a store with unsynced writes while the FS
// keeps a random prefix of them (a torn tail), and checks that Open trims
// the tail, that everything synced is found, and that the store takes new
// writes after it.
func TestCrashTornWrites(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	torn := 0
	for seed := range uint64(seeds) {
		mem := vfs.NewMem()
		mem.SetTornWrites(rand.New(rand.NewPCG(seed, 7)))
		o := testOptions(mem)
		o.SegmentSize = 2048
		s := openUnchecked(t, o)
		rng := rand.New(rand.NewPCG(seed, 8))
		var synced, unsynced []kv
		for v := uint64(1); v <= 40; v++ {
			n := 1 + rng.IntN(4)
			sizes := make([]int, n)
			for i := range sizes {
				sizes[i] = rng.IntN(400)
			}
			unsynced = append(unsynced, writeKVs(t, s, rng, v, sizes...)...)
			if rng.IntN(5) == 0 {
				if err := s.Sync(); err != nil {
					t.Fatal(err)
				}
				synced, unsynced = append(synced, unsynced...), nil
			}
		}
		crashed := mem.Crash()
		s2 := openChecked(t, testOptions(crashed))
		torn += int(s2.Stats().TornTails)
		checkKVs(t, s2, synced)
		// Unsynced values are found whole or not at all, and in order
		// within a segment: once one is lost, every later one in it is too.
		lost := map[uint32]bool{}
		for _, k := range unsynced {
			if k.inline {
				continue
			}
			ok := readOutcome(t, s2, k)
			if s2.Contains(k.ptr) != ok {
				t.Fatalf("seed %d: Contains(%+v) = %v, but Read says %v", seed, k.ptr, !ok, ok)
			}
			if ok && lost[k.ptr.Segment] {
				t.Fatalf("seed %d: %+v survived after an earlier value of its segment was lost", seed, k.ptr)
			}
			if !ok {
				lost[k.ptr.Segment] = true
			}
		}
		more := writeKVs(t, s2, rng, 100, 300, 300)
		if err := s2.Sync(); err != nil {
			t.Fatal(err)
		}
		checkKVs(t, s2, append(synced, more...))
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
		s3 := openChecked(t, testOptions(crashed))
		checkKVs(t, s3, append(synced, more...))
	}
	if torn == 0 {
		t.Fatal("no seed left a torn tail to trim")
	}
}

// TestCrashAtEveryOperation runs a workload (writes across rotations, syncs,
// discard updates, a segment removal) and crashes it at each of its
// mutating file-system operations in turn. Every time, Open must succeed on
// what the crash left, find every value synced before the crash (except in
// removed segments), and leave a directory Verify accepts.
func TestCrashAtEveryOperation(t *testing.T) {
	type result struct {
		synced []kv
	}
	workload := func(t *testing.T, fs *vfs.MemFS) (res result) {
		s, err := OpenWith(testOptions(fs))
		if err != nil {
			return res
		}
		defer s.Close()
		rng := rand.New(rand.NewPCG(11, 12))
		var pending []kv
		for v := uint64(1); v <= 16; v++ {
			entries := make([]iface.Entry, 0, 3)
			kvs := make([]kv, 0, 3)
			for i := range 1 + int(v%3) {
				k := kv{key: []byte{byte('a' + i), byte(v)}, version: v, value: make([]byte, 40+rng.IntN(300))}
				for j := range k.value {
					k.value[j] = byte(rng.Uint32())
				}
				kvs = append(kvs, k)
				entries = append(entries, iface.Entry{Key: k.key, Version: v, Kind: iface.KindSet, Value: k.value})
			}
			if err := s.Write(entries); err != nil {
				return res
			}
			for i := range entries {
				kvs[i].ptr, _ = iface.DecodeValuePtr(entries[i].Value)
			}
			pending = append(pending, kvs...)
			if v%3 == 0 {
				if err := s.Sync(); err != nil {
					return res
				}
				res.synced, pending = append(res.synced, pending...), nil
			}
			if v%4 == 0 {
				s.AddDiscard(map[uint32]int64{1: 100, s.Head().Segment: 10})
				if err := s.PersistDiscard(); err != nil {
					return res
				}
			}
			if v == 12 {
				if err := s.RemoveSegment(2); err != nil {
					return res
				}
				keep := res.synced[:0]
				for _, k := range res.synced {
					if k.ptr.Segment != 2 {
						keep = append(keep, k)
					}
				}
				res.synced = keep
			}
		}
		return res
	}
	first := vfs.NewMem()
	workload(t, first)
	ops := first.MutatingOps()
	if ops < 40 {
		t.Fatalf("workload has only %d crash points", ops)
	}
	for n := int64(1); n <= ops; n++ {
		mem := vfs.NewMem()
		mem.CrashAfter(n)
		res := workload(t, mem)
		rec := mem.Recovered()
		if rec == nil {
			t.Fatalf("crash point %d of %d: no crash", n, ops)
		}
		s, err := OpenWith(testOptions(rec))
		if err != nil {
			t.Fatalf("crash point %d: open: %v", n, err)
		}
		checkKVs(t, s, res.synced)
		if err := s.Close(); err != nil {
			t.Fatalf("crash point %d: close: %v", n, err)
		}
		if err := Verify(rec, testDir); err != nil {
			t.Fatalf("crash point %d: verify after reopen: %v", n, err)
		}
	}
}

// TestTruncatedByHand cuts the newest segment at every offset and checks
// that Open keeps exactly the records that end before the cut.
func TestTruncatedByHand(t *testing.T) {
	mem := vfs.NewMem()
	o := testOptions(mem)
	o.SegmentSize = 1 << 20
	s := openChecked(t, o)
	rng := rand.New(rand.NewPCG(5, 5))
	kvs := writeKVs(t, s, rng, 1, 60, 45)
	kvs = append(kvs, writeKVs(t, s, rng, 2, 70)...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, mem, segPath(1))
	for cut := 0; cut < len(data); cut++ {
		fs := vfs.NewMem()
		writeFile(t, fs, segPath(1), data[:cut])
		s2, err := OpenWith(testOptions(fs))
		if err != nil {
			t.Fatalf("cut at %d: open: %v", cut, err)
		}
		end := int64(SegmentHeaderLen)
		for _, k := range kvs {
			if int(k.ptr.Offset+k.ptr.Len) <= cut {
				end = int64(k.ptr.Offset + k.ptr.Len)
				checkKVs(t, s2, []kv{k})
				if !s2.Contains(k.ptr) {
					t.Fatalf("cut at %d: Contains(%+v) is false for a whole record", cut, k.ptr)
				}
			} else if _, err := s2.Read(k.ptr, nil); !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("cut at %d: Read of a cut record = %v", cut, err)
			} else if s2.Contains(k.ptr) {
				t.Fatalf("cut at %d: Contains(%+v) is true for a cut record", cut, k.ptr)
			}
		}
		if h := s2.Head(); h != (iface.ValuePtr{Segment: 1, Offset: uint32(end)}) {
			t.Fatalf("cut at %d: head %+v, want offset %d", cut, h, end)
		}
		if wantTorn := int64(cut) != end; (s2.Stats().TornTails == 1) != wantTorn {
			t.Fatalf("cut at %d: torn tails %d", cut, s2.Stats().TornTails)
		}
		// The trimmed store is sound and takes writes.
		more := writeKVs(t, s2, rng, 3, 80)
		checkKVs(t, s2, more)
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
		if err := Verify(fs, testDir); err != nil {
			t.Fatalf("cut at %d: verify: %v", cut, err)
		}
	}
}

// TestZeroFilledTail: a file system that extended the file without writing
// the data leaves zeros; they are a torn tail, not damage.
func TestZeroFilledTail(t *testing.T) {
	for _, zeros := range []int{1, RecordHeaderLen - 1, RecordHeaderLen, 500, 5000} {
		mem := vfs.NewMem()
		s := openChecked(t, testOptions(mem))
		kvs := writeKVs(t, s, rand.New(rand.NewPCG(1, 2)), 1, 100)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := Verify(mem, testDir); err != nil {
			t.Fatal(err)
		}
		appendFile(t, mem, segPath(1), make([]byte, zeros))
		if err := Verify(mem, testDir); err == nil {
			t.Fatalf("%d zeros: Verify reports no torn tail", zeros)
		}
		s2 := openChecked(t, testOptions(mem))
		if s2.Stats().TornTails != 1 {
			t.Fatalf("%d zeros: not trimmed", zeros)
		}
		checkKVs(t, s2, kvs)
	}
}

// TestShortNewestSegment: a crash right after a segment was created can
// leave it shorter than its header, or all zeros; Open rewrites the header.
// In a sealed segment the same is damage.
func TestShortNewestSegment(t *testing.T) {
	header := appendSegmentHeader(nil, 2)
	for _, content := range [][]byte{nil, header[:5], header[:15], make([]byte, 10), make([]byte, 40)} {
		mem := vfs.NewMem()
		s := openChecked(t, testOptions(mem))
		kvs := writeKVs(t, s, rand.New(rand.NewPCG(1, 2)), 1, 100)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		writeFile(t, mem, segPath(2), content)
		s2 := openChecked(t, testOptions(mem))
		checkKVs(t, s2, kvs)
		more := writeKVs(t, s2, rand.New(rand.NewPCG(1, 3)), 2, 100)
		if more[0].ptr.Segment != 2 || more[0].ptr.Offset != SegmentHeaderLen {
			t.Fatalf("content %x: next record at %+v", content, more[0].ptr)
		}
	}
	// A short segment that is not the newest is damage.
	mem := vfs.NewMem()
	s := openUnchecked(t, testOptions(mem))
	writeKVs(t, s, rand.New(rand.NewPCG(1, 2)), 1, 100)
	s.Close()
	writeFile(t, mem, segPath(2), header[:5])
	writeFile(t, mem, segPath(3), appendSegmentHeader(nil, 3))
	_, err := OpenWith(testOptions(mem))
	wantCorruption(t, err, segPath(2), 0)
	// A short segment with bytes that are not a header prefix is damage too.
	mem = vfs.NewMem()
	writeFile(t, mem, segPath(1), []byte("garbage"))
	_, err = OpenWith(testOptions(mem))
	wantCorruption(t, err, segPath(1), 0)
}

// TestSyncErrorIsSticky: after a failed fsync nothing more is written.
func TestSyncErrorIsSticky(t *testing.T) {
	mem := vfs.NewMem()
	fail := false
	efs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, name string) error {
		if fail && op == vfs.OpSync {
			return vfs.ErrInjected
		}
		return nil
	}))
	o := testOptions(efs)
	s := openUnchecked(t, o)
	rng := rand.New(rand.NewPCG(1, 2))
	kvs := writeKVs(t, s, rng, 1, 100)
	fail = true
	if err := s.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Sync = %v", err)
	}
	fail = false
	if err := s.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Sync after a failed one = %v, want the sticky error", err)
	}
	e := []iface.Entry{{Key: []byte("k"), Kind: iface.KindSet, Value: make([]byte, 100)}}
	if err := s.Write(e); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Write after a failed Sync = %v", err)
	}
	checkKVs(t, s, kvs) // reads still work
}

// TestWriteErrorsEverywhere fails each operation of a workload once and
// checks the store never panics, reports the failure, and reopens.
func TestWriteErrorsEverywhere(t *testing.T) {
	workload := func(fs vfs.FS) (failed bool) {
		s, err := OpenWith(testOptions(fs))
		if err != nil {
			return true
		}
		defer s.Close()
		rng := rand.New(rand.NewPCG(1, 2))
		for v := uint64(1); v <= 8; v++ {
			e := []iface.Entry{{Key: []byte{byte(v)}, Version: v, Kind: iface.KindSet, Value: make([]byte, 100+rng.IntN(300))}}
			if err := s.Write(e); err != nil {
				return true
			}
			if err := s.Sync(); err != nil {
				return true
			}
			if _, err := s.Read(iface.ValuePtr{}, nil); err == nil {
				return true
			}
		}
		s.AddDiscard(map[uint32]int64{1: 10})
		if err := s.RemoveSegment(1); err != nil {
			return true
		}
		return s.Close() != nil
	}
	var ops int64
	count := vfs.InjectorFunc(func(vfs.Op, string) error { ops++; return nil })
	if workload(vfs.NewErrorFS(vfs.NewMem(), count)) {
		t.Fatal("the workload fails without injected errors")
	}
	for n := int64(1); n <= ops; n++ {
		mem := vfs.NewMem()
		workload(vfs.NewErrorFS(mem, vfs.FailNth(n, nil)))
		s, err := OpenWith(testOptions(mem))
		if err != nil {
			t.Fatalf("failing op %d of %d: reopen: %v", n, ops, err)
		}
		s.Close()
		if err := Verify(mem, testDir); err != nil {
			t.Fatalf("failing op %d of %d: verify: %v", n, ops, err)
		}
	}
}

func readFile(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	if err := fs.MkdirAll(testDir); err != nil {
		t.Fatal(err)
	}
	f, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func appendFile(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.OpenAppend(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}
