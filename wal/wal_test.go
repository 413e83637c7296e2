package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// open opens a log in dir; the log is closed at the end of the test.
func open(t testing.TB, dir string, segSize int64) *Log {
	t.Helper()
	l, err := Open(iface.LogOptions{FS: vfs.Default, Dir: dir, SegmentSize: segSize})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// verifyOnCleanup checks, after the test, that the log in dir is intact.
func verifyOnCleanup(t *testing.T, dir string) {
	t.Cleanup(func() {
		if err := Verify(vfs.Default, dir); err != nil {
			t.Errorf("Verify after test: %v", err)
		}
	})
}

type rec struct {
	pos  iface.LogPosition
	data []byte
}

func payload(i int) []byte {
	return fmt.Appendf(nil, "record-%04d-%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, i%37))
}

// appendN appends records first..first+n-1 and returns them with positions.
func appendN(t testing.TB, l *Log, first, n int) []rec {
	t.Helper()
	var out []rec
	for i := first; i < first+n; i++ {
		p := payload(i)
		pos, err := l.Append(p)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out = append(out, rec{pos, p})
	}
	return out
}

func replay(l *Log, from iface.LogPosition) ([]rec, error) {
	var out []rec
	err := l.Replay(from, func(pos iface.LogPosition, data []byte) error {
		out = append(out, rec{pos, bytes.Clone(data)})
		return nil
	})
	return out, err
}

func equalRecs(t *testing.T, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].pos != want[i].pos || !bytes.Equal(got[i].data, want[i].data) {
			t.Fatalf("record %d: got %v %q, want %v %q", i, got[i].pos, got[i].data, want[i].pos, want[i].data)
		}
	}
}

func segPath(dir string, num uint64) string { return filepath.Join(dir, segmentName(num)) }

func TestAppendReplayRoundTrip(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	l := open(t, dir, 0)
	if l.segmentSize != DefaultSegmentSize {
		t.Fatalf("default segment size %d", l.segmentSize)
	}
	want := appendN(t, l, 0, 50)
	big := bytes.Repeat([]byte{7}, 300<<10) // larger than the readahead window
	pos, err := l.Append(big)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, rec{pos, big})
	pos, err = l.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, rec{pos, []byte{}})
	want = append(want, appendN(t, l, 50, 5)...)
	if want[0].pos != (iface.LogPosition{Segment: 1, Offset: 0}) {
		t.Fatalf("first position %v, want {1 0}", want[0].pos)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = open(t, dir, 0)
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want)
	st := l.Stats()
	if st.Segments != 1 || st.TornTails != 0 || st.Records != 0 {
		t.Fatalf("stats after reopen: %+v", st)
	}
}

func TestReopenAppendsToNewSegment(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	l := open(t, dir, 0)
	want := appendN(t, l, 0, 3)
	l.Close()
	size := fileSize(t, segPath(dir, 1))

	l = open(t, dir, 0)
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want)
	more := appendN(t, l, 3, 3)
	if more[0].pos != (iface.LogPosition{Segment: 2, Offset: 0}) {
		t.Fatalf("first append after reopen at %v, want {2 0}", more[0].pos)
	}
	if fileSize(t, segPath(dir, 1)) != size {
		t.Fatalf("segment 1 changed after reopen")
	}
	l.Close()

	l = open(t, dir, 0)
	got, err = replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, append(want, more...))
}

func TestRotationBySize(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	const segSize = 1000
	l := open(t, dir, segSize)
	var want []rec
	for i := range 100 {
		p := bytes.Repeat([]byte{byte(i)}, 96) // 108 bytes framed
		pos, err := l.Append(p)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rec{pos, p})
	}
	// 10 records of 108 bytes reach 1000 bytes; the 11th starts a new segment.
	for i, r := range want {
		wantPos := iface.LogPosition{Segment: uint64(i/10 + 1), Offset: int64(i%10) * 108}
		if r.pos != wantPos {
			t.Fatalf("record %d at %v, want %v", i, r.pos, wantPos)
		}
	}
	st := l.Stats()
	if st.Segments != 10 || st.Records != 100 || st.BytesAppended != 10800 || st.Syncs != 9 {
		t.Fatalf("stats %+v", st)
	}
	for n := uint64(1); n <= 9; n++ {
		if s := fileSize(t, segPath(dir, n)); s != 1080 {
			t.Fatalf("sealed segment %d has %d bytes", n, s)
		}
	}
	l.Close()
	l = open(t, dir, segSize)
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want)
}

func TestRotate(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	l := open(t, dir, 0)
	seg, err := l.Rotate()
	if err != nil || seg != 1 {
		t.Fatalf("Rotate on empty log = %d, %v; want 1", seg, err)
	}
	if _, err := os.Stat(segPath(dir, 1)); err != nil {
		t.Fatalf("Rotate did not create the segment: %v", err)
	}
	a := appendN(t, l, 0, 2)
	if seg, err = l.Rotate(); err != nil || seg != 2 {
		t.Fatalf("Rotate = %d, %v; want 2", seg, err)
	}
	if seg, err = l.Rotate(); err != nil || seg != 3 {
		t.Fatalf("Rotate with no append = %d, %v; want 3", seg, err)
	}
	b := appendN(t, l, 2, 2)
	if b[0].pos != (iface.LogPosition{Segment: 3}) {
		t.Fatalf("append after Rotate at %v", b[0].pos)
	}
	if st := l.Stats(); st.Segments != 3 || st.Syncs != 2 {
		t.Fatalf("stats %+v", st)
	}
	l.Close()

	// A Rotate right after reopening starts the segment after the newest.
	l = open(t, dir, 0)
	if seg, err = l.Rotate(); err != nil || seg != 4 {
		t.Fatalf("Rotate after reopen = %d, %v; want 4", seg, err)
	}
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, append(a, b...))
}

func TestReplayFrom(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	l := open(t, dir, 300)
	want := appendN(t, l, 0, 40)
	l.Close()
	l = open(t, dir, 300)
	if want[len(want)-1].pos.Segment < 4 {
		t.Fatalf("test wants several segments, got %d", want[len(want)-1].pos.Segment)
	}
	for _, k := range []int{0, 1, 7, 20, 39} {
		got, err := replay(l, want[k].pos)
		if err != nil {
			t.Fatal(err)
		}
		equalRecs(t, got, want[k:])
	}
	// The end of the newest segment, and a segment past the newest: nothing.
	last := want[len(want)-1]
	end := iface.LogPosition{Segment: last.pos.Segment, Offset: fileSize(t, segPath(dir, last.pos.Segment))}
	for _, from := range []iface.LogPosition{end, {Segment: last.pos.Segment + 5}} {
		got, err := replay(l, from)
		if err != nil || len(got) != 0 {
			t.Fatalf("replay from %v: %d records, %v", from, len(got), err)
		}
	}
	// An offset past the end (records lost to a power loss after the
	// checkpoint) is not an error.
	got, err := replay(l, iface.LogPosition{Segment: last.pos.Segment, Offset: end.Offset + 100})
	if err != nil || len(got) != 0 {
		t.Fatalf("replay past end: %d records, %v", len(got), err)
	}
	if _, err := replay(l, iface.LogPosition{Offset: -1}); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("negative offset: %v", err)
	}
}

func TestReplayStopsOnCallbackError(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, 200)
	appendN(t, l, 0, 20)
	stop := errors.New("stop here")
	calls := 0
	err := l.Replay(iface.LogPosition{}, func(iface.LogPosition, []byte) error {
		calls++
		if calls == 5 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 5 {
		t.Fatalf("Replay = %v after %d calls, want the callback's error after 5", err, calls)
	}
}

func TestRelease(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	l := open(t, dir, 200)
	want := appendN(t, l, 0, 30)
	newest := want[len(want)-1].pos.Segment
	if err := l.Release(3); err != nil {
		t.Fatal(err)
	}
	for n := uint64(1); n <= newest; n++ {
		_, err := os.Stat(segPath(dir, n))
		if exists := err == nil; exists != (n >= 3) {
			t.Fatalf("segment %d exists=%v after Release(3)", n, exists)
		}
	}
	if st := l.Stats(); st.Segments != int(newest-2) {
		t.Fatalf("Segments = %d, want %d", st.Segments, newest-2)
	}
	// Releasing everything keeps the active segment.
	if err := l.Release(newest + 10); err != nil {
		t.Fatal(err)
	}
	if names := segmentFiles(t, dir); !slices.Equal(names, []string{segmentName(newest)}) {
		t.Fatalf("after Release(all): %v", names)
	}
	more := appendN(t, l, 30, 1)
	if more[0].pos.Segment != newest {
		t.Fatalf("append after Release went to %v", more[0].pos)
	}
	l.Close()

	// Without an active segment the newest one is kept too, so numbering
	// continues after a restart.
	l = open(t, dir, 200)
	if err := l.Release(1 << 40); err != nil {
		t.Fatal(err)
	}
	if names := segmentFiles(t, dir); len(names) != 1 {
		t.Fatalf("after Release on reopened log: %v", names)
	}
	if seg, err := l.Rotate(); err != nil || seg != newest+1 {
		t.Fatalf("Rotate = %d, %v; want %d", seg, err, newest+1)
	}
	if err := l.Release(newest + 1); err != nil {
		t.Fatal(err)
	}
	got, err := replay(l, iface.LogPosition{Segment: newest + 1})
	if err != nil || len(got) != 0 {
		t.Fatalf("replay after release: %d records, %v", len(got), err)
	}
}

func TestClosed(t *testing.T) {
	l := open(t, t.TempDir(), 0)
	appendN(t, l, 0, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{
		"Close":   l.Close(),
		"Sync":    l.Sync(),
		"Release": l.Release(5),
		"Replay":  l.Replay(iface.LogPosition{}, func(iface.LogPosition, []byte) error { return nil }),
	}
	_, checks["Append"] = l.Append([]byte("x"))
	_, checks["Rotate"] = l.Rotate()
	for name, err := range checks {
		if !errors.Is(err, iface.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := Open(iface.LogOptions{}); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("empty dir: %v", err)
	}
	if _, err := Open(iface.LogOptions{Dir: t.TempDir(), SegmentSize: -1}); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("negative segment size: %v", err)
	}
	// A missing directory is created; a nil FS means vfs.Default.
	dir := filepath.Join(t.TempDir(), "a", "wal")
	lg, err := New(iface.LogOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	if _, err := lg.Append([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(segPath(dir, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestOtherFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"MANIFEST-000001", "CURRENT", "x.wal", "12a.wal", ".wal", "000009.log", "000003.sst"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not a segment"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A segment with a short name is accepted under its own name.
	l := open(t, dir, 0)
	want := appendN(t, l, 0, 2)
	l.Close()
	if err := os.Rename(segPath(dir, 1), filepath.Join(dir, "7.wal")); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].pos.Segment = 7
	}
	l = open(t, dir, 0)
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want)
	if seg, err := l.Rotate(); err != nil || seg != 8 {
		t.Fatalf("Rotate = %d, %v; want 8", seg, err)
	}
	if err := Verify(vfs.Default, dir); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	// Two names for one number cannot be resolved.
	if err := os.WriteFile(filepath.Join(dir, "0007.wal"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(iface.LogOptions{Dir: dir}); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("duplicate segment number: %v", err)
	}
}

func TestSegmentNames(t *testing.T) {
	for _, c := range []struct {
		name string
		num  uint64
		ok   bool
	}{
		{"00000001.wal", 1, true},
		{"1.wal", 1, true},
		{"123456789012.wal", 123456789012, true},
		{".wal", 0, false},
		{"-1.wal", 0, false},
		{"+1.wal", 0, false},
		{"1.wal.tmp", 0, false},
		{"99999999999999999999999.wal", 0, false},
	} {
		num, ok := parseSegmentName(c.name)
		if num != c.num || ok != c.ok {
			t.Errorf("parse %q = %d, %v", c.name, num, ok)
		}
	}
	if got := segmentName(42); got != "00000042.wal" {
		t.Fatalf("segmentName(42) = %q", got)
	}
	if got := segmentName(123456789); got != "123456789.wal" {
		t.Fatalf("segmentName(123456789) = %q", got)
	}
}

func TestStatsConcurrentWithAppend(t *testing.T) {
	l := open(t, t.TempDir(), 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			_ = l.Stats()
		}
	}()
	appendN(t, l, 0, 200)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	<-done
	if st := l.Stats(); st.Records != 200 {
		t.Fatalf("Records = %d", st.Records)
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := listSegments(vfs.Default, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range segs {
		names = append(names, s.name)
	}
	return names
}
