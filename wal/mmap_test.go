package wal

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// A mapped segment (vfs.Default on Linux) is created at the segment size;
// a writer that stops without closing leaves a zero tail, which Verify
// accepts, Replay takes for the end of the log, and sealing trims.
func TestMappedSegmentLeftOpen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(iface.LogOptions{FS: vfs.Default, Dir: dir, SegmentSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := appendN(t, l, 0, 1000)
	if l.mapped == nil {
		t.Skip("segments are not mapped on this platform")
	}
	st, err := os.Stat(segPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != 4<<20 {
		t.Fatalf("mapped segment is %d bytes, want the segment size %d", st.Size(), 4<<20)
	}
	// l is abandoned as a crashed process would leave it: never closed.
	if err := Verify(vfs.Default, dir); err != nil {
		t.Fatalf("Verify of a log left open: %v", err)
	}
	l2 := open(t, dir, 4<<20)
	got, err := replay(l2, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want)
	appendN(t, l2, 1000, 1)
	st, err = os.Stat(segPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	if end := want[len(want)-1].pos.Offset + int64(record.Size(len(want[len(want)-1].data))); st.Size() != end {
		t.Fatalf("sealed segment is %d bytes, want %d (its records)", st.Size(), end)
	}
	l.Close()
}

// A record larger than what is left of a mapped segment grows the mapping.
func TestMappedLargeRecord(t *testing.T) {
	dir := t.TempDir()
	verifyOnCleanup(t, dir)
	l := open(t, dir, 1<<20)
	small := appendN(t, l, 0, 10)
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)
	pos, err := l.Append(big)
	if err != nil {
		t.Fatal(err)
	}
	want := append(small, rec{pos, big})
	want = append(want, appendN(t, l, 10, 10)...)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := open(t, dir, 1<<20)
	got, err := replay(l2, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	equalRecs(t, got, want)
}

// NoMmap writes segments with write calls: the file is exactly its records.
func TestNoMmap(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(iface.LogOptions{FS: vfs.Default, Dir: dir, SegmentSize: 4 << 20, NoMmap: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs := appendN(t, l, 0, 10)
	if l.mapped != nil {
		t.Fatal("NoMmap log is mapped")
	}
	st, err := os.Stat(segPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	if end := last.pos.Offset + int64(record.Size(len(last.data))); st.Size() != end {
		t.Fatalf("segment is %d bytes, want %d", st.Size(), end)
	}
}

// A process killed with SIGKILL loses no appended record, synced or not:
// the child appends and reports each record's number after Append returns;
// the parent kills it mid-stream and replays.
func TestKilledProcessLosesNoAppend(t *testing.T) {
	if dir := os.Getenv("NOKV_WAL_KILL_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcessLosesNoAppend$")
	cmd.Env = append(os.Environ(), "NOKV_WAL_KILL_CHILD="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue // test framework output
		}
		acked = n
		if acked >= 20000 {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 0 {
		t.Fatalf("child acknowledged no record; its stderr:\n%s", stderr.String())
	}
	l := open(t, dir, 1<<20)
	got, err := replay(l, iface.LogPosition{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < acked+1 {
		t.Fatalf("replayed %d records after SIGKILL, %d were acknowledged", len(got), acked+1)
	}
	for i, r := range got {
		if !bytes.Equal(r.data, payload(i)) {
			t.Fatalf("record %d: %q, want %q", i, r.data, payload(i))
		}
	}
	t.Logf("%d records acknowledged, %d replayed", acked+1, len(got))
}

func killChild(dir string) {
	l, err := Open(iface.LogOptions{FS: vfs.Default, Dir: dir, SegmentSize: 1 << 20})
	if err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		if _, err := l.Append(payload(i)); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		w.WriteString(strconv.Itoa(i) + "\n")
		if i%16 == 0 {
			w.Flush()
		}
	}
}
