package manifest

import (
	"errors"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// FuzzOpen opens a store directory whose manifest file holds arbitrary
// bytes (CURRENT names it). Open must fail with a corruption or
// incompatibility error, or succeed; it must never panic. After a
// successful Open (which truncates a torn tail) the manifest must take an
// edit and reopen to the same state plus that edit.
func FuzzOpen(f *testing.F) {
	snap := func(e *Edit) []byte { return record.Append(nil, e.Encode(nil)) }
	f.Add([]byte{})
	f.Add(snap((&State{}).Snapshot()))
	full := append(snap((&State{}).Snapshot()), snap(fullEdit())...)
	f.Add(full)
	f.Add(full[:len(full)-5])
	f.Add(append(snap((&State{}).Snapshot()), record.Append(nil, appendField(nil, 99, []byte("future")))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := vfs.NewMem()
		write := func(name string, b []byte) {
			w, err := fs.Create("/db/" + name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
			w.Sync()
			w.Close()
		}
		if err := fs.MkdirAll("/db"); err != nil {
			t.Fatal(err)
		}
		write(manifestName(1), data)
		write(currentName, []byte(manifestName(1)+"\n"))
		m, err := Open(fs, "/db", Options{MaxSize: 512})
		if err != nil {
			if !errors.Is(err, iface.ErrCorruption) && !errors.Is(err, iface.ErrIncompatible) {
				t.Fatalf("open: %v matches neither ErrCorruption nor ErrIncompatible", err)
			}
			return
		}
		before := m.State()
		next := before.NextFileNum + 1
		if err := m.Apply(&Edit{NextFileNum: next}); err != nil {
			t.Fatalf("apply after a clean open: %v", err)
		}
		m.Close()
		m, err = Open(fs, "/db", Options{MaxSize: 512})
		if err != nil {
			t.Fatalf("reopen after a clean open and an edit: %v", err)
		}
		after := m.State()
		m.Close()
		if after.NextFileNum != next || after.LastVersion != before.LastVersion || len(after.Levels) != len(before.Levels) {
			t.Fatalf("state changed across a reopen: %+v, then %+v", before, after)
		}
	})
}
