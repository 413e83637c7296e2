package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

type kv struct{ k, v []byte }

// genEntries makes about n entries over user keys that are often prefixes of
// one another, with one to four versions each, sorted by iface.Compare.
func genEntries(rng *rand.Rand, n int) []kv {
	seen := map[string]bool{}
	var out []kv
	for len(out) < n {
		ul := rng.IntN(7)
		u := make([]byte, 1+ul)
		u[0] = 'k'
		for i := 1; i < len(u); i++ {
			u[i] = "abc\x00\xff"[rng.IntN(5)]
		}
		if seen[string(u)] {
			continue
		}
		seen[string(u)] = true
		for range 1 + rng.IntN(4) {
			ver := rng.Uint64N(1000)
			if rng.IntN(20) == 0 {
				ver = rng.Uint64() // extreme versions too
			}
			var val []byte
			if rng.IntN(10) == 0 {
				val = iface.EncodeValue(nil, iface.KindDelete, 0, nil)
			} else {
				payload := bytes.Repeat([]byte{byte('a' + rng.IntN(26))}, rng.IntN(60))
				payload = append(payload, fmt.Sprintf("%s@%d", u, ver)...)
				val = iface.EncodeValue(nil, iface.KindSet, uint64(rng.IntN(2))*12345, payload)
			}
			out = append(out, kv{iface.MakeKey(nil, u, ver), val})
		}
	}
	slices.SortFunc(out, func(a, b kv) int { return iface.Compare(a.k, b.k) })
	return slices.CompactFunc(out, func(a, b kv) bool { return iface.Compare(a.k, b.k) == 0 })
}

func buildFile(t testing.TB, fs vfs.FS, path string, f *Format, entries []kv) iface.TableProps {
	t.Helper()
	file, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b := f.NewBuilder(file)
	for _, e := range entries {
		if err := b.Add(e.k, e.v); err != nil {
			t.Fatal(err)
		}
	}
	props, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	return props
}

func openFile(t testing.TB, fs vfs.FS, path string, f *Format, fileNum uint64) *Reader {
	t.Helper()
	file, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	size, err := file.Size()
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := f.Open(file, path, fileNum, size)
	if err != nil {
		t.Fatal(err)
	}
	r := tbl.(*Reader)
	t.Cleanup(func() { r.Close() })
	return r
}

// buildBytes builds a table in memory and returns its bytes.
func buildBytes(t testing.TB, f *Format, entries []kv) []byte {
	t.Helper()
	m := &memFile{}
	b := f.NewBuilder(m)
	for _, e := range entries {
		if err := b.Add(e.k, e.v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	return m.b
}

func openBytes(f *Format, data []byte) (*Reader, error) {
	tbl, err := f.Open(&memFile{b: data}, "mem.sst", 1, int64(len(data)))
	if err != nil {
		return nil, err
	}
	return tbl.(*Reader), nil
}

// memFile is a vfs.File over a byte slice.
type memFile struct{ b []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (m *memFile) Write(p []byte) (int, error) { m.b = append(m.b, p...); return len(p), nil }
func (m *memFile) Sync() error                 { return nil }
func (m *memFile) Size() (int64, error)        { return int64(len(m.b)), nil }
func (m *memFile) Truncate(n int64) error      { m.b = m.b[:n]; return nil }
func (m *memFile) Close() error                { return nil }

// refSeekGE is the index of the first entry >= key.
func refSeekGE(ref []kv, key []byte) int {
	return sort.Search(len(ref), func(i int) bool { return iface.Compare(ref[i].k, key) >= 0 })
}

func randomTarget(rng *rand.Rand, ref []kv) []byte {
	if rng.IntN(3) == 0 {
		return ref[rng.IntN(len(ref))].k
	}
	u := iface.UserKey(ref[rng.IntN(len(ref))].k)
	u = append([]byte(nil), u...)
	switch rng.IntN(4) {
	case 0:
		u = append(u, "abc"[rng.IntN(3)])
	case 1:
		if len(u) > 0 {
			u = u[:rng.IntN(len(u))]
		}
	case 2:
		u = []byte{byte(rng.IntN(256))}
	}
	vers := []uint64{0, iface.MaxVersion, rng.Uint64N(1000)}
	return iface.MakeKey(nil, u, vers[rng.IntN(len(vers))])
}

func checkIterAt(t *testing.T, it iface.Iterator, ok bool, ref []kv, pos int, what string) {
	t.Helper()
	want := pos >= 0 && pos < len(ref)
	if ok != want || it.Valid() != want {
		t.Fatalf("%s: valid=%v/%v, want %v (pos %d of %d), err %v", what, ok, it.Valid(), want, pos, len(ref), it.Err())
	}
	if want && (!bytes.Equal(it.Key(), ref[pos].k) || !bytes.Equal(it.Value(), ref[pos].v)) {
		t.Fatalf("%s: at %q=%q, want %q=%q (pos %d)", what, it.Key(), it.Value(), ref[pos].k, ref[pos].v, pos)
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := genEntries(rng, 10000)
	dir := t.TempDir()
	configs := []struct {
		name string
		opts Options
	}{
		{"snappy-cache", Options{Cache: NewCache(8 << 20)}},
		{"snappy-nocache", Options{}},
		{"none-smallblocks", Options{Compression: NoCompression, BlockSize: 300, RestartInterval: 4}},
		{"none-cache-nofilter", Options{Compression: NoCompression, BloomBitsPerKey: NoFilter, RestartInterval: 1, Cache: NewCache(1 << 20)}},
	}
	for i, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			defer c.opts.Cache.Close()
			f := New(c.opts)
			path := filepath.Join(dir, fmt.Sprintf("%d.sst", i))
			props := buildFile(t, vfs.Default, path, f, ref)
			r := openFile(t, vfs.Default, path, f, uint64(i))
			if err := r.Verify(); err != nil {
				t.Fatal(err)
			}
			checkProps(t, props, r, ref)
			checkGets(t, rng, r, ref)
			checkScans(t, r, ref)
			checkSeeks(t, rng, r, ref)
			checkRandomWalk(t, rng, r, ref)
			checkApproximateOffset(t, r, ref)
			if c.opts.Cache != nil {
				c.opts.Cache.wait()
				checkScans(t, r, ref)
				if s := c.opts.Cache.Stats(); s.Hits == 0 || s.Misses == 0 {
					t.Fatalf("cache stats %+v", s)
				}
			}
		})
	}
}

func checkProps(t *testing.T, props iface.TableProps, r *Reader, ref []kv) {
	t.Helper()
	want := iface.TableProps{Smallest: ref[0].k, Largest: ref[len(ref)-1].k, Entries: uint64(len(ref)), MinVersion: iface.MaxVersion}
	for _, e := range ref {
		if e.v[0] == byte(iface.KindDelete) {
			want.Deletions++
		}
		want.MinVersion = min(want.MinVersion, iface.Version(e.k))
		want.MaxVersion = max(want.MaxVersion, iface.Version(e.k))
		want.RawKeySize += uint64(len(e.k))
		want.RawValueSize += uint64(len(e.v))
	}
	want.FileSize = uint64(r.size)
	for _, got := range []iface.TableProps{props, r.Props()} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("props\n got %+v\nwant %+v", got, want)
		}
	}
}

func checkGets(t *testing.T, rng *rand.Rand, r *Reader, ref []kv) {
	t.Helper()
	for range 3000 {
		target := randomTarget(rng, ref)
		k, v, ok, err := r.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		i := refSeekGE(ref, target)
		want := i < len(ref) && iface.SameUserKey(ref[i].k, target)
		if ok != want {
			t.Fatalf("Get(%q) ok=%v, want %v", target, ok, want)
		}
		if want && (!bytes.Equal(k, ref[i].k) || !bytes.Equal(v, ref[i].v)) {
			t.Fatalf("Get(%q) = %q,%q want %q,%q", target, k, v, ref[i].k, ref[i].v)
		}
	}
	// Every stored key at its own version and at the newest.
	for _, e := range ref {
		k, _, ok, err := r.Get(e.k)
		if err != nil || !ok || !bytes.Equal(k, e.k) {
			t.Fatalf("Get(%q) = %q %v %v", e.k, k, ok, err)
		}
	}
}

func checkScans(t *testing.T, r *Reader, ref []kv) {
	t.Helper()
	it := r.NewIterator()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		checkIterAt(t, it, true, ref, n, "forward scan")
		n++
	}
	if n != len(ref) || it.Err() != nil {
		t.Fatalf("forward scan saw %d of %d, err %v", n, len(ref), it.Err())
	}
	n = len(ref) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		checkIterAt(t, it, true, ref, n, "reverse scan")
		n--
	}
	if n != -1 {
		t.Fatalf("reverse scan stopped at %d", n)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
}

func checkSeeks(t *testing.T, rng *rand.Rand, r *Reader, ref []kv) {
	t.Helper()
	it := r.NewIterator()
	defer it.Close()
	for range 3000 {
		target := randomTarget(rng, ref)
		i := refSeekGE(ref, target)
		checkIterAt(t, it, it.SeekGE(target), ref, i, fmt.Sprintf("SeekGE(%q)", target))
		checkIterAt(t, it, it.SeekLT(target), ref, i-1, fmt.Sprintf("SeekLT(%q)", target))
	}
	// Beyond both ends.
	checkIterAt(t, it, it.SeekGE(iface.MakeKey(nil, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0)), ref, len(ref), "SeekGE(past end)")
	checkIterAt(t, it, it.SeekLT([]byte{}), ref, -1, "SeekLT(empty)")
	checkIterAt(t, it, it.SeekGE([]byte{}), ref, 0, "SeekGE(empty)")
}

// checkRandomWalk mixes every positioning method against a model position
// in [-1, len(ref)].
func checkRandomWalk(t *testing.T, rng *rand.Rand, r *Reader, ref []kv) {
	t.Helper()
	it := r.NewIterator()
	defer it.Close()
	pos, positioned := -1, false
	for step := range 20000 {
		var ok bool
		var op string
		switch x := rng.IntN(100); {
		case x < 40:
			op = "Next"
			ok = it.Next()
			switch {
			case !positioned || pos < 0:
				pos = 0
			case pos < len(ref):
				pos++
			}
		case x < 80:
			op = "Prev"
			ok = it.Prev()
			switch {
			case !positioned || pos >= len(ref):
				pos = len(ref) - 1
			case pos >= 0:
				pos--
			}
		case x < 88:
			target := randomTarget(rng, ref)
			op = fmt.Sprintf("SeekGE(%q)", target)
			ok = it.SeekGE(target)
			pos = refSeekGE(ref, target)
		case x < 96:
			target := randomTarget(rng, ref)
			op = fmt.Sprintf("SeekLT(%q)", target)
			ok = it.SeekLT(target)
			pos = refSeekGE(ref, target) - 1
		case x < 98:
			op = "First"
			ok = it.First()
			pos = 0
		default:
			op = "Last"
			ok = it.Last()
			pos = len(ref) - 1
		}
		positioned = true
		checkIterAt(t, it, ok, ref, pos, fmt.Sprintf("step %d %s", step, op))
	}
}

func checkApproximateOffset(t *testing.T, r *Reader, ref []kv) {
	t.Helper()
	if off := r.ApproximateOffset(ref[0].k); off != 0 {
		t.Fatalf("offset of first key %d", off)
	}
	prev := uint64(0)
	for i := 0; i < len(ref); i += 37 {
		off := r.ApproximateOffset(ref[i].k)
		if off < prev {
			t.Fatalf("offsets not monotone: %d after %d", off, prev)
		}
		prev = off
	}
	end := r.ApproximateOffset(iface.MakeKey(nil, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0))
	if end < prev || end >= uint64(r.size) || end == 0 {
		t.Fatalf("offset past the end %d (last %d, size %d)", end, prev, r.size)
	}
}

func TestBloomFalsePositives(t *testing.T) {
	f := New(Options{})
	var entries []kv
	for i := range 10000 {
		entries = append(entries, kv{iface.MakeKey(nil, fmt.Appendf(nil, "user%08d", i*2), 5), []byte{byte(iface.KindSet), 'v'}})
	}
	r, err := openBytes(f, buildBytes(t, f, entries))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !r.filter.mayContain(bloomHash(iface.UserKey(e.k))) {
			t.Fatalf("filter misses %q", e.k)
		}
	}
	fp := 0
	const probes = 20000
	for i := range probes {
		if r.filter.mayContain(bloomHash(fmt.Appendf(nil, "user%08d", i*2+1))) {
			fp++
		}
	}
	rate := float64(fp) / probes
	t.Logf("bloom false-positive rate at 10 bits/key: %.2f%%", rate*100)
	if rate > 0.03 {
		t.Fatalf("false-positive rate %.3f", rate)
	}
	// An absent key costs no block read.
	k, _, ok, err := r.Get(iface.MakeKey(nil, []byte("absent"), 9))
	if k != nil || ok || err != nil {
		t.Fatal("absent key found")
	}
}

func TestBuilderRejects(t *testing.T) {
	f := New(Options{})
	b := f.NewBuilder(&memFile{})
	k1 := iface.MakeKey(nil, []byte("b"), 5)
	if err := b.Add(k1, nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{k1, iface.MakeKey(nil, []byte("b"), 6), iface.MakeKey(nil, []byte("a"), 1), []byte("short")} {
		if err := b.Add(k, nil); !errors.Is(err, iface.ErrInvalidArgument) {
			t.Fatalf("Add(%q) = %v", k, err)
		}
	}
	// Still usable after a rejected Add.
	if err := b.Add(iface.MakeKey(nil, []byte("b"), 4), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(iface.MakeKey(nil, []byte("c"), 4), nil); err == nil {
		t.Fatal("Add after Finish")
	}
	bad := New(Options{BlockSize: -1, RestartInterval: -1, BloomBitsPerKey: 100})
	if err := bad.NewBuilder(&memFile{}).Add(k1, nil); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("bad options: %v", err)
	}
}

func TestEmptyTable(t *testing.T) {
	for _, opts := range []Options{{}, {BloomBitsPerKey: NoFilter, Compression: NoCompression}} {
		f := New(opts)
		r, err := openBytes(f, buildBytes(t, f, nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Verify(); err != nil {
			t.Fatal(err)
		}
		if p := r.Props(); p.Entries != 0 || p.Smallest != nil {
			t.Fatalf("props %+v", p)
		}
		it := r.NewIterator()
		if it.First() || it.Last() || it.SeekGE([]byte("a")) || it.SeekLT([]byte("a")) || it.Next() || it.Prev() {
			t.Fatal("empty table iterates")
		}
		if _, _, ok, err := r.Get(iface.MakeKey(nil, []byte("a"), 1)); ok || err != nil {
			t.Fatal(ok, err)
		}
		if r.ApproximateOffset([]byte("a")) != 0 {
			t.Fatal("offset")
		}
	}
}

func TestSeparator(t *testing.T) {
	cases := []struct{ a, b string }{
		{"abc", "abd"}, {"abc", "abz"}, {"abcdef", "abz"}, {"a", "ab"}, {"ab\xff\xff", "ac"},
		{"abcdef", "abcdef"}, {"", "a"}, {"x\xffyy", "x\xffz"},
	}
	for _, c := range cases {
		for _, vers := range [][2]uint64{{1, 2}, {5, 3}, {0, iface.MaxVersion}} {
			a, b := iface.MakeKey(nil, []byte(c.a), vers[0]), iface.MakeKey(nil, []byte(c.b), vers[1])
			if iface.Compare(a, b) >= 0 {
				continue
			}
			s := separator(nil, a, b)
			if iface.Compare(a, s) > 0 || iface.Compare(s, b) >= 0 || len(s) > len(a) {
				t.Fatalf("separator(%q, %q) = %q", a, b, s)
			}
		}
	}
	if s := separator(nil, iface.MakeKey(nil, []byte("abcdef"), 1), iface.MakeKey(nil, []byte("abz"), 1)); len(s) != 3+8 {
		t.Fatalf("not shortened: %q", s)
	}
}

func TestIncompatibleVersion(t *testing.T) {
	f := New(Options{})
	data := buildBytes(t, f, genEntries(rand.New(rand.NewPCG(3, 4)), 50))
	foot := data[len(data)-footerLen:]
	foot[48] = 2
	copy(foot[52:56], le32(blockChecksum(foot[:52])))
	if _, err := openBytes(f, data); !errors.Is(err, iface.ErrIncompatible) {
		t.Fatalf("got %v", err)
	}
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
