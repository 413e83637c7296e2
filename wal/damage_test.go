package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// writeLog writes n records to a fresh log in dir (segSize 0 = one segment),
// syncs and closes it, and returns the records.
func writeLog(t *testing.T, dir string, segSize int64, n int) []rec {
	t.Helper()
	l := open(t, dir, segSize)
	recs := appendN(t, l, 0, n)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64, mask byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= mask
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantCorruption checks err is a *iface.CorruptionError at path and offset.
func wantCorruption(t *testing.T, err error, path string, off int64) {
	t.Helper()
	var ce *iface.CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("got %v, want a corruption error", err)
	}
	if ce.File != path || ce.Offset != off {
		t.Fatalf("corruption reported at %s:%d, want %s:%d (%v)", ce.File, ce.Offset, path, off, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

func TestTornTailTruncated(t *testing.T) {
	next := record.Append(nil, []byte("the record a crash interrupted"))
	cases := []struct {
		name string
		tail []byte
		lost int // good records lost with the tail
	}{
		{"partial header", next[:3], 0},
		{"partial payload", next[:12], 0},
		{"missing crc", next[:len(next)-2], 0},
		{"zero-filled", make([]byte, 4096), 0},
		{"short zero-filled", make([]byte, 6), 0},
		{"last record bad crc", nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			verifyOnCleanup(t, dir)
			want := writeLog(t, dir, 0, 10)
			path := segPath(dir, 1)
			goodSize := fileSize(t, path)
			if c.tail != nil {
				appendBytes(t, path, c.tail)
			} else {
				flipByte(t, path, goodSize-1, 0x40)
				want = want[:len(want)-c.lost]
				goodSize = want[len(want)-1].pos.Offset + int64(record.Size(len(want[len(want)-1].data)))
			}
			err := Verify(vfs.Default, dir)
			if zero := c.tail != nil && !slices.ContainsFunc(c.tail, func(b byte) bool { return b != 0 }); zero {
				// Space allocated ahead of the records: the end of the log.
				if err != nil {
					t.Fatalf("Verify on a zero-filled tail: %v", err)
				}
			} else if !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("Verify on a torn tail: %v", err)
			}

			l := open(t, dir, 0)
			got, err := replay(l, iface.LogPosition{})
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			equalRecs(t, got, want)
			if st := l.Stats(); st.TornTails != 1 {
				t.Fatalf("TornTails = %d", st.TornTails)
			}
			if s := fileSize(t, path); s != goodSize {
				t.Fatalf("segment is %d bytes after replay, want %d", s, goodSize)
			}
			more := appendN(t, l, 100, 3)
			l.Close()

			l = open(t, dir, 0)
			got, err = replay(l, iface.LogPosition{})
			if err != nil {
				t.Fatalf("second Replay: %v", err)
			}
			equalRecs(t, got, append(want, more...))
			if st := l.Stats(); st.TornTails != 0 {
				t.Fatalf("TornTails on second replay = %d", st.TornTails)
			}
		})
	}
}

func TestTornTailRepairedWithoutReplay(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	want := writeLog(t, dir, 0, 5)
	appendBytes(t, segPath(dir, 1), []byte{9, 9})
	// Appending without a Replay first must not leave the torn tail behind in
	// what becomes an older segment.
	l := open(t, dir, 0)
	more := appendN(t, l, 5, 2)
	if st := l.Stats(); st.TornTails != 1 {
		t.Fatalf("TornTails = %d", st.TornTails)
	}
	l.Close()
	l = open(t, dir, 0)
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, append(want, more...))
}

func TestCorruptionMidLog(t *testing.T) {
	dir := t.TempDir()
	want := writeLog(t, dir, 0, 10)
	path := segPath(dir, 1)
	bad := want[4].pos.Offset
	flipByte(t, path, bad+6, 0x01)
	size := fileSize(t, path)

	l := open(t, dir, 0)
	got, err := replay(l, iface.LogPosition{})
	wantCorruption(t, err, path, bad)
	equalRecs(t, got, want[:4])
	if fileSize(t, path) != size {
		t.Fatalf("Replay changed a corrupt segment")
	}
	// Replay from after the damage reads the rest.
	got, err = replay(l, want[5].pos)
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want[5:])
	wantCorruption(t, Verify(vfs.Default, dir), path, bad)
}

func TestCorruptionInOlderSegment(t *testing.T) {
	dir := t.TempDir()
	want := writeLog(t, dir, 200, 20)
	if want[len(want)-1].pos.Segment < 3 {
		t.Fatal("want at least 3 segments")
	}
	// The last record of segment 1 fails its checksum: at the end of the
	// newest segment that is a torn tail; here it is corruption.
	var lastOfFirst rec
	for _, r := range want {
		if r.pos.Segment == 1 {
			lastOfFirst = r
		}
	}
	path := segPath(dir, 1)
	flipByte(t, path, fileSize(t, path)-1, 0x10)
	l := open(t, dir, 200)
	_, err := replay(l, iface.LogPosition{})
	wantCorruption(t, err, path, lastOfFirst.pos.Offset)
	wantCorruption(t, Verify(vfs.Default, dir), path, lastOfFirst.pos.Offset)
}

func TestTornTailInOlderSegment(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 200, 20)
	path := segPath(dir, 2)
	size := fileSize(t, path)
	appendBytes(t, path, []byte{1, 0, 0})
	l := open(t, dir, 200)
	_, err := replay(l, iface.LogPosition{})
	wantCorruption(t, err, path, size)
	if fileSize(t, path) != size+3 {
		t.Fatalf("Replay truncated an older segment")
	}
}

func TestMissingSegment(t *testing.T) {
	dir := t.TempDir()
	want := writeLog(t, dir, 200, 30)
	if want[len(want)-1].pos.Segment < 4 {
		t.Fatal("want at least 4 segments")
	}
	if err := os.Remove(segPath(dir, 2)); err != nil {
		t.Fatal(err)
	}
	l := open(t, dir, 200)
	_, err := replay(l, iface.LogPosition{})
	wantCorruption(t, err, segPath(dir, 2), -1)
	// The checkpoint's own segment is missing.
	_, err = replay(l, iface.LogPosition{Segment: 2, Offset: 10})
	wantCorruption(t, err, segPath(dir, 2), -1)
	// Replay from after the gap is fine.
	if _, err := replay(l, iface.LogPosition{Segment: 3}); err != nil {
		t.Fatal(err)
	}
}

// TestFlipEveryByte damages a small two-segment log one byte at a time.
// Verify must name the file and the damaged record; Open+Replay must return
// a corruption error or a strict prefix of the records, never a wrong one.
func TestFlipEveryByte(t *testing.T) {
	src := t.TempDir()
	want := writeLog(t, src, 150, 12)
	segs, err := listSegments(vfs.Default, src)
	if err != nil || len(segs) < 2 {
		t.Fatalf("want at least 2 segments: %v, %v", segs, err)
	}
	pristine := map[string][]byte{}
	for _, s := range segs {
		b, err := os.ReadFile(filepath.Join(src, s.name))
		if err != nil {
			t.Fatal(err)
		}
		pristine[s.name] = b
	}
	masks := []byte{0xff, 0x01}
	if testing.Short() {
		masks = masks[:1]
	}

	var corrupt, prefix int
	dir := t.TempDir()
	reset := func() {
		for name, b := range pristine {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range segs {
		path := filepath.Join(dir, s.name)
		for off := range int64(len(pristine[s.name])) {
			// The record holding the byte.
			var hit rec
			for _, r := range want {
				if r.pos.Segment == s.num && r.pos.Offset <= off {
					hit = r
				}
			}
			for _, mask := range masks {
				reset()
				flipByte(t, path, off, mask)
				if err := Verify(vfs.Default, dir); err == nil {
					t.Fatalf("%s byte %d ^%#x: Verify found nothing", s.name, off, mask)
				} else {
					wantCorruption(t, err, path, hit.pos.Offset)
				}

				l, err := Open(iface.LogOptions{Dir: dir, SegmentSize: 150})
				if err != nil {
					t.Fatal(err)
				}
				got, err := replay(l, iface.LogPosition{})
				l.Close()
				if err != nil {
					if !errors.Is(err, iface.ErrCorruption) {
						t.Fatalf("%s byte %d ^%#x: Replay: %v", s.name, off, mask, err)
					}
					corrupt++
					continue
				}
				if len(got) >= len(want) {
					t.Fatalf("%s byte %d ^%#x: replayed all %d records of a damaged log", s.name, off, mask, len(got))
				}
				equalRecs(t, got, want[:len(got)])
				prefix++
				// What Replay accepted as a torn tail is gone now.
				if err := Verify(vfs.Default, dir); err != nil {
					t.Fatalf("%s byte %d ^%#x: Verify after Replay: %v", s.name, off, mask, err)
				}
			}
		}
	}
	// Both outcomes must have been exercised: damage in the older segment
	// and mid-segment is corruption; damage to the newest segment's last
	// record, or a length running past its end, is a torn tail.
	t.Logf("%d flips reported as corruption, %d replayed a prefix", corrupt, prefix)
	if corrupt == 0 || prefix == 0 {
		t.Fatalf("corruption %d, prefix %d: want both", corrupt, prefix)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	if err := Verify(vfs.Default, dir); err != nil {
		t.Fatalf("empty dir: %v", err)
	}
	writeLog(t, dir, 200, 20)
	if err := Verify(vfs.Default, dir); err != nil {
		t.Fatalf("clean log: %v", err)
	}
	if err := Verify(vfs.Default, filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Verify of a missing dir succeeded")
	}
}

func TestReadaheadMatchesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := vfs.Default.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ra := newReadahead(f, nil)
	for _, c := range []struct{ off, n int }{
		{0, 10}, {5, 100}, {readaheadSize - 3, 10}, {100, readaheadSize + 5},
		{len(data) - 4, 4}, {len(data) - 4, 10}, {len(data), 1}, {7, 0},
	} {
		p := make([]byte, c.n)
		n, err := ra.ReadAt(p, int64(c.off))
		wantN := max(min(c.n, len(data)-c.off), 0)
		if n != wantN || !bytes.Equal(p[:n], data[c.off:c.off+n]) {
			t.Fatalf("ReadAt(%d, %d) = %d bytes, want %d", c.n, c.off, n, wantN)
		}
		if (n < c.n) != (err != nil) {
			t.Fatalf("ReadAt(%d, %d): n %d, err %v", c.n, c.off, n, err)
		}
	}
}
