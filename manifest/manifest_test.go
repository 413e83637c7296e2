package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

func mustOpen(t *testing.T, dir string, opts Options) *Manifest {
	t.Helper()
	m, err := Open(vfs.Default, dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return m
}

func mustManifestApply(t *testing.T, m *Manifest, e *Edit) {
	t.Helper()
	if err := m.Apply(e); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	names, err := vfs.Default.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// testEdits is a fixed sequence of valid edits, starting from an empty state.
func testEdits() []*Edit {
	return []*Edit{
		{Components: map[string]string{"table": "sstable/v1", "valuestore": "inline"}, NextFileNum: 2},
		{AddTables: []TableEntry{{Level: 0, Meta: meta(2, "apple", "banana")}}, NextFileNum: 3, LastVersion: 9,
			LogCheckpoint: &iface.LogPosition{Segment: 1, Offset: 100}},
		{AddTables: []TableEntry{{Level: 0, Meta: meta(3, "cherry", "date")}}, NextFileNum: 4, LastVersion: 20},
		{DeleteTables: []TableRef{{0, 2}, {0, 3}}, AddTables: []TableEntry{{Level: 1, Meta: meta(4, "apple", "date")}},
			NextFileNum: 5, LogCheckpoint: &iface.LogPosition{Segment: 2, Offset: 0}},
	}
}

// statesAfter returns the state after each prefix of edits: states[i] is the
// state after the first i edits.
func statesAfter(t *testing.T, edits []*Edit) []*State {
	s := &State{}
	states := []*State{s.Clone()}
	for _, e := range edits {
		mustApply(t, s, e)
		states = append(states, s.Clone())
	}
	return states
}

func TestOpenCreateApplyReopen(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{})
	if s := m.State(); !reflect.DeepEqual(s, &State{}) {
		t.Fatalf("fresh state = %+v", s)
	}
	if got := listDir(t, dir); !reflect.DeepEqual(got, []string{"CURRENT", "MANIFEST-000001"}) {
		t.Fatalf("files = %v", got)
	}
	edits := testEdits()
	want := statesAfter(t, edits)
	for _, e := range edits {
		mustManifestApply(t, m, e)
	}
	if s := m.State(); !reflect.DeepEqual(s, want[len(edits)]) {
		t.Fatalf("state = %+v, want %+v", s, want[len(edits)])
	}
	// A refused edit changes nothing and does not poison the manifest.
	if err := m.Apply(&Edit{DeleteTables: []TableRef{{0, 99}}}); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("bad edit: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(&Edit{NextFileNum: 9}); !errors.Is(err, iface.ErrClosed) {
		t.Fatalf("apply after close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := Verify(vfs.Default, dir); err != nil {
		t.Fatalf("verify: %v", err)
	}
	m = mustOpen(t, dir, Options{})
	defer m.Close()
	if s := m.State(); !reflect.DeepEqual(s, want[len(edits)]) {
		t.Fatalf("reopened state = %+v, want %+v", s, want[len(edits)])
	}
	b, err := os.ReadFile(filepath.Join(dir, "CURRENT"))
	if err != nil || string(b) != "MANIFEST-000001\n" {
		t.Fatalf("CURRENT = %q, %v", b, err)
	}
}

func TestStateIsACopy(t *testing.T) {
	m := mustOpen(t, t.TempDir(), Options{})
	defer m.Close()
	mustManifestApply(t, m, &Edit{AddTables: []TableEntry{{Level: 1, Meta: meta(1, "a", "b")}}, Components: map[string]string{"x": "y"}})
	s := m.State()
	s.Levels[1][0].Size = -7
	s.Components["x"] = "changed"
	mustApply(t, s, &Edit{DeleteTables: []TableRef{{1, 1}}})
	if got := m.State(); got.Levels[1][0].Size != 1001 || got.Components["x"] != "y" {
		t.Fatalf("changing a returned state changed the manifest's: %+v", got)
	}
}

func TestRewritePastMaxSize(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxSize: 1024}
	m := mustOpen(t, dir, opts)
	s := &State{}
	names := map[string]bool{}
	for i := uint64(1); i <= 300; i++ {
		e := &Edit{AddTables: []TableEntry{{Level: 1, Meta: meta(i, "k", "l")}}, NextFileNum: i + 1, LastVersion: i}
		if i > 1 {
			e.DeleteTables = []TableRef{{1, i - 1}}
		}
		mustManifestApply(t, m, e)
		mustApply(t, s, e)
		names[m.FileName()] = true
	}
	if len(names) < 5 {
		t.Fatalf("only %d manifest files used over 300 edits with MaxSize 1 KiB", len(names))
	}
	files := listDir(t, dir)
	if !reflect.DeepEqual(files, []string{"CURRENT", m.FileName()}) {
		t.Fatalf("files = %v, want CURRENT and %s only", files, m.FileName())
	}
	st, err := os.Stat(filepath.Join(dir, m.FileName()))
	if err != nil || st.Size() > 2*opts.MaxSize {
		t.Fatalf("live manifest: %v, %v", st, err)
	}
	if !reflect.DeepEqual(m.State(), s) {
		t.Fatalf("state after rewrites differs")
	}
	m.Close()
	m = mustOpen(t, dir, opts)
	defer m.Close()
	if !reflect.DeepEqual(m.State(), s) {
		t.Fatalf("reopened state after rewrites differs:\n got %+v\nwant %+v", m.State(), s)
	}
}

// A snapshot larger than MaxSize must not make every Apply rewrite.
func TestRewriteWaitsForTwiceTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{MaxSize: 256})
	defer m.Close()
	var adds []TableEntry
	for i := uint64(1); i <= 50; i++ {
		adds = append(adds, TableEntry{Level: 2, Meta: meta(i, fmt.Sprintf("k%03d", i), fmt.Sprintf("k%03da", i))})
	}
	mustManifestApply(t, m, &Edit{AddTables: adds}) // rewrites: the file is past 256 bytes
	first := m.FileName()
	mustManifestApply(t, m, &Edit{LastVersion: 1})
	mustManifestApply(t, m, &Edit{LastVersion: 2})
	if m.FileName() != first {
		t.Fatalf("rewrote again (%s -> %s) although the file is far below twice its snapshot", first, m.FileName())
	}
}

func appendToFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestTornTailTruncated(t *testing.T) {
	for name, tail := range map[string]func(rec []byte) []byte{
		"half record":  func(rec []byte) []byte { return rec[:len(rec)/2] },
		"three bytes":  func(rec []byte) []byte { return rec[:3] },
		"zero filled":  func(rec []byte) []byte { return make([]byte, len(rec)) },
		"bad checksum": func(rec []byte) []byte { r := bytes.Clone(rec); r[len(r)-1] ^= 1; return r },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			m := mustOpen(t, dir, Options{})
			edits := testEdits()
			for _, e := range edits[:3] {
				mustManifestApply(t, m, e)
			}
			m.Close()
			path := filepath.Join(dir, "MANIFEST-000001")
			st, _ := os.Stat(path)
			good := st.Size()
			appendToFile(t, path, tail(record.Append(nil, edits[3].Encode(nil))))

			err := Verify(vfs.Default, dir)
			var ce *iface.CorruptionError
			if !errors.As(err, &ce) || ce.File != path || ce.Offset != good || !strings.Contains(ce.Reason, "torn") {
				t.Fatalf("verify: got %v, want a torn tail in %s at %d", err, path, good)
			}
			var out bytes.Buffer
			if err := Dump(vfs.Default, dir, &out); err != nil || !strings.Contains(out.String(), "torn tail") {
				t.Fatalf("dump: %v\n%s", err, out.String())
			}

			m = mustOpen(t, dir, Options{})
			want := statesAfter(t, edits)
			if !reflect.DeepEqual(m.State(), want[3]) {
				t.Fatalf("state after torn tail = %+v, want %+v", m.State(), want[3])
			}
			if st, _ := os.Stat(path); st.Size() != good {
				t.Fatalf("manifest is %d bytes after open, want %d", st.Size(), good)
			}
			mustManifestApply(t, m, edits[3])
			m.Close()
			if err := Verify(vfs.Default, dir); err != nil {
				t.Fatal(err)
			}
			m = mustOpen(t, dir, Options{})
			defer m.Close()
			if !reflect.DeepEqual(m.State(), want[4]) {
				t.Fatalf("state = %+v, want %+v", m.State(), want[4])
			}
		})
	}
}

func TestCurrentNamesMissingFile(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{})
	m.Close()
	if err := os.WriteFile(filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000009\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{"open": openErr(dir), "verify": Verify(vfs.Default, dir)} {
		var ce *iface.CorruptionError
		if !errors.As(err, &ce) || ce.File != filepath.Join(dir, "CURRENT") || !strings.Contains(ce.Reason, "MANIFEST-000009") {
			t.Fatalf("%s: got %v, want corruption of CURRENT naming MANIFEST-000009", name, err)
		}
	}
}

func openErr(dir string) error {
	m, err := Open(vfs.Default, dir, Options{})
	if err == nil {
		m.Close()
	}
	return err
}

func TestMissingCurrent(t *testing.T) {
	// A store with edits whose CURRENT is gone is damaged.
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{})
	mustManifestApply(t, m, testEdits()[0])
	m.Close()
	os.Remove(filepath.Join(dir, "CURRENT"))
	if err := openErr(dir); !errors.Is(err, iface.ErrCorruption) || !strings.Contains(err.Error(), "CURRENT") {
		t.Fatalf("open without CURRENT: %v", err)
	}

	// A creation interrupted before CURRENT was installed starts afresh.
	empty := record.Append(nil, nil)
	for name, content := range map[string][]byte{
		"empty file":     nil,
		"torn snapshot":  empty[:5],
		"whole snapshot": empty,
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "MANIFEST-000001"), content, 0o644)
		os.WriteFile(filepath.Join(dir, "CURRENT.tmp"), []byte("MANIFEST-0"), 0o644)
		m, err := Open(vfs.Default, dir, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m.Close()
		if got := listDir(t, dir); !reflect.DeepEqual(got, []string{"CURRENT", "MANIFEST-000001"}) {
			t.Fatalf("%s: files = %v", name, got)
		}
		if err := Verify(vfs.Default, dir); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Another manifest number without CURRENT is damage, not a creation.
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "MANIFEST-000002"), empty, 0o644)
	if err := openErr(dir); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("open with MANIFEST-000002 and no CURRENT: %v", err)
	}
}

func TestStaleFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{})
	m.Close()
	empty := record.Append(nil, nil)
	for _, name := range []string{"MANIFEST-000007", "CURRENT.tmp", "MANIFEST-000000"} {
		os.WriteFile(filepath.Join(dir, name), empty, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "OTHER"), nil, 0o644)
	m = mustOpen(t, dir, Options{MaxSize: 1})
	defer m.Close()
	if got := listDir(t, dir); !reflect.DeepEqual(got, []string{"CURRENT", "MANIFEST-000000", "MANIFEST-000001", "OTHER"}) {
		t.Fatalf("files = %v", got)
	}
	// The next rewrite must not reuse a number seen in the directory.
	mustManifestApply(t, m, &Edit{NextFileNum: 3})
	if m.FileName() != "MANIFEST-000008" {
		t.Fatalf("rewrote into %s, want MANIFEST-000008", m.FileName())
	}
}

func TestNewerFormatRefused(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{})
	m.Close()
	path := filepath.Join(dir, "MANIFEST-000001")
	st, _ := os.Stat(path)
	appendToFile(t, path, record.Append(nil, appendField(nil, 10, []byte("region"))))
	for name, err := range map[string]error{"open": openErr(dir), "verify": Verify(vfs.Default, dir)} {
		if !errors.Is(err, iface.ErrIncompatible) || !strings.Contains(err.Error(), "tag 10") ||
			!strings.Contains(err.Error(), fmt.Sprintf("MANIFEST-000001 at offset %d", st.Size())) {
			t.Fatalf("%s: got %v, want ErrIncompatible naming tag 10, the file and offset", name, err)
		}
	}
}

func TestDump(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{})
	for _, e := range testEdits() {
		mustManifestApply(t, m, e)
	}
	m.Close()
	var out bytes.Buffer
	if err := Dump(vfs.Default, dir, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"MANIFEST-000001: 5 edits",
		`table = "sstable/v1"`,
		"log checkpoint: segment 2, offset 0",
		"next file number: 5",
		"last version: 20",
		"L1: 1 tables, 1004 bytes",
		`000004 size=1004 entries=40 deletions=4 versions=[1,9] keys="apple"@9 .. "date"@1`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, out.String())
		}
	}
}

func TestConcurrentApplyAndState(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{MaxSize: 2048})
	const writers, perWriter = 4, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				id := uint64(w*perWriter + i + 1)
				if err := m.Apply(&Edit{AddTables: []TableEntry{{Level: w, Meta: meta(id, "a", "b")}}, NextFileNum: id + 1}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rg sync.WaitGroup
	rg.Add(1)
	go func() {
		defer rg.Done()
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := m.State()
			if n := s.NumTables(); n < last {
				t.Errorf("state went backwards: %d tables after %d", n, last)
			} else {
				last = n
			}
		}
	}()
	wg.Wait()
	close(stop)
	rg.Wait()
	want := m.State()
	if want.NumTables() != writers*perWriter || want.NextFileNum != writers*perWriter+1 {
		t.Fatalf("tables = %d, next file = %d", want.NumTables(), want.NextFileNum)
	}
	m.Close()
	m = mustOpen(t, dir, Options{})
	defer m.Close()
	if !reflect.DeepEqual(m.State(), want) {
		t.Fatalf("reopened state differs")
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := Open(vfs.Default, t.TempDir(), Options{MaxSize: -1}); !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("negative MaxSize: %v", err)
	}
}
