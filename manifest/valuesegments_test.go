package manifest

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// TestValueSegmentsApply checks the value log's live set: adds and drops
// keep it sorted, and edits that add a live segment or drop one that is not
// live are refused without changing anything.
func TestValueSegmentsApply(t *testing.T) {
	var s State
	mustApply(t, &s, &Edit{AddValueSegments: []uint32{3, 1, 2}})
	mustApply(t, &s, &Edit{DropValueSegments: []uint32{2}, AddValueSegments: []uint32{4}})
	if want := []uint32{1, 3, 4}; !reflect.DeepEqual(s.ValueSegments, want) {
		t.Fatalf("live set = %v, want %v", s.ValueSegments, want)
	}
	before := s.Clone()
	for name, e := range map[string]*Edit{
		"add live":         {AddValueSegments: []uint32{3}},
		"add twice":        {AddValueSegments: []uint32{5, 5}},
		"add zero":         {AddValueSegments: []uint32{0}},
		"drop not live":    {DropValueSegments: []uint32{2}},
		"drop twice":       {DropValueSegments: []uint32{1, 1}},
		"add and drop":     {AddValueSegments: []uint32{6}, DropValueSegments: []uint32{6}},
		"bad with a table": {AddValueSegments: []uint32{1}, AddTables: []TableEntry{{Level: 1, Meta: meta(9, "a", "b")}}},
	} {
		if err := s.Apply(e); !errors.Is(err, iface.ErrInvalidArgument) {
			t.Errorf("%s: Apply = %v, want ErrInvalidArgument", name, err)
		}
		if !reflect.DeepEqual(&s, before) {
			t.Fatalf("%s: a refused edit changed the state to %+v", name, s)
		}
	}
	// A clone does not share the live set.
	c := s.Clone()
	mustApply(t, c, &Edit{DropValueSegments: []uint32{1, 3, 4}})
	if c.ValueSegments != nil || len(s.ValueSegments) != 3 {
		t.Fatalf("clone %v, original %v", c.ValueSegments, s.ValueSegments)
	}
	var fresh State
	mustApply(t, &fresh, s.Snapshot())
	if !reflect.DeepEqual(&fresh, &s) {
		t.Fatalf("snapshot recreates %+v, want %+v", fresh, s)
	}
}

// TestValueSegmentsPersist applies live-set edits through a manifest small
// enough to be rewritten, reopens it, and checks Load, Verify and Dump.
func TestValueSegmentsPersist(t *testing.T) {
	dir := t.TempDir()
	m := mustOpen(t, dir, Options{MaxSize: 256})
	head := iface.ValuePtr{Segment: 1}
	for seg := uint32(1); seg <= 40; seg++ {
		head.Segment = seg
		e := &Edit{ValueLogHead: &head, AddValueSegments: []uint32{seg}}
		if seg > 5 && seg%3 == 0 {
			e.DropValueSegments = []uint32{seg - 4}
		}
		mustManifestApply(t, m, e)
	}
	want := m.State()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Verify(vfs.Default, dir); err != nil {
		t.Fatalf("verify: %v", err)
	}
	got, err := Load(vfs.Default, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.ValueSegments, want.ValueSegments) || len(want.ValueSegments) != 28 {
		t.Fatalf("loaded live set %v, want %v (28 segments)", got.ValueSegments, want.ValueSegments)
	}
	m = mustOpen(t, dir, Options{})
	if s := m.State(); !reflect.DeepEqual(s, want) {
		t.Fatalf("reopened %+v, want %+v", s, want)
	}
	m.Close()
	var out bytes.Buffer
	if err := Dump(vfs.Default, dir, &out); err != nil {
		t.Fatal(err)
	}
	if line := "value-log segments: 28 live: 1 3-4 6-7 9-10 12-13 15-16 18-19 21-22 24-25 27-28 30-31 33-34 36-40"; !strings.Contains(out.String(), line) {
		t.Fatalf("dump lacks %q:\n%s", line, out.String())
	}
}
