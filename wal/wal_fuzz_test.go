package wal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// FuzzReplay opens a log whose segments hold arbitrary bytes (the input is
// split into two segments at its first byte's offset) and replays it. Replay
// must return nil or a corruption error, never panic; when it succeeds (a
// torn tail of the newest segment was truncated), a second Open and Replay
// must return the same records without error, a new record must be
// appendable after them, and Verify must accept the log.
func FuzzReplay(f *testing.F) {
	rec := func(ps ...string) []byte {
		var b []byte
		for _, p := range ps {
			b = record.Append(b, []byte(p))
		}
		return b
	}
	f.Add([]byte{})
	f.Add(append([]byte{0}, rec("a", "bb", "ccc")...))
	two := rec("first", "second")
	f.Add(append([]byte{byte(len(two))}, append(two, rec("third")...)...))
	torn := rec("x", "yy")
	f.Add(append([]byte{0}, torn[:len(torn)-2]...))
	f.Add(append([]byte{3}, append(rec("p"), 0, 0, 0, 0)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var segs [][]byte
		if len(data) > 0 {
			cut := min(int(data[0]), len(data)-1)
			segs = [][]byte{data[1 : 1+cut], data[1+cut:]}
		}
		fs := vfs.NewMem()
		if err := fs.MkdirAll("/wal"); err != nil {
			t.Fatal(err)
		}
		for i, s := range segs {
			w, err := fs.Create("/wal/" + segmentName(uint64(i+1)))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(s)
			w.Sync()
			w.Close()
		}
		replay := func() ([][]byte, error) {
			l, err := Open(iface.LogOptions{FS: fs, Dir: "/wal"})
			if err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			err = l.Replay(iface.LogPosition{}, func(_ iface.LogPosition, r []byte) error {
				got = append(got, bytes.Clone(r))
				return nil
			})
			if err == nil {
				if _, aerr := l.Append([]byte("after")); aerr != nil {
					t.Fatalf("append after a clean replay: %v", aerr)
				}
			}
			l.Close()
			return got, err
		}
		first, err := replay()
		if err != nil {
			if !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("replay: %v does not match ErrCorruption", err)
			}
			return
		}
		second, err := replay()
		if err != nil {
			t.Fatalf("second replay after a clean one: %v", err)
		}
		if len(second) != len(first)+1 {
			t.Fatalf("second replay found %d records, want %d (+1 appended)", len(second), len(first)+1)
		}
		for i := range first {
			if !bytes.Equal(first[i], second[i]) {
				t.Fatalf("record %d changed between replays", i)
			}
		}
		if err := Verify(fs, "/wal"); err != nil {
			t.Fatalf("verify after a clean replay: %v", err)
		}
	})
}
