package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/nokv/nokv/vfs"
)

// TestIngestBufferState moves L0 tables into ingest shards, merges inside a
// shard (the output keeps the largest input Seq) and drains a shard into the
// main run, checking the order of every shard, then reopens the manifest and
// checks that the state, Seq included, survives and that Dump shows it.
func TestIngestBufferState(t *testing.T) {
	fs := vfs.NewMem()
	m, err := Open(fs, "/db", Options{MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(e *Edit) {
		t.Helper()
		if err := m.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	apply(&Edit{AddTables: []TableEntry{{Level: 0, Meta: meta(1, "a", "m")}, {Level: 0, Meta: meta(2, "c", "z")},
		{Level: 0, Meta: meta(3, "b", "d")}, {Level: 4, Meta: meta(4, "a", "z")}}})
	// Move 1 and 2 to shard 0 and 3 to shard 1: metadata only.
	mv := func(id uint64, shard int) TableEntry {
		for _, tm := range m.State().Levels[0] {
			if tm.ID == id {
				return TableEntry{Level: 4, Meta: tm, Ingest: true, Shard: shard}
			}
		}
		t.Fatalf("table %d not in L0", id)
		return TableEntry{}
	}
	apply(&Edit{DeleteTables: []TableRef{{Level: 0, ID: 1}, {Level: 0, ID: 2}}, AddTables: []TableEntry{mv(1, 0), mv(2, 0)}})
	apply(&Edit{DeleteTables: []TableRef{{Level: 0, ID: 3}}, AddTables: []TableEntry{mv(3, 1)}})
	s := m.State()
	if len(s.Levels[0]) != 0 || len(s.Ingest) != 5 || !reflect.DeepEqual(ids(s.Ingest[4][0]), []uint64{2, 1}) ||
		!reflect.DeepEqual(ids(s.Ingest[4][1]), []uint64{3}) {
		t.Fatalf("after moves: L0 %v, ingest %+v", ids(s.Levels[0]), s.Ingest)
	}
	// Merge inside shard 0: 1 + 2 -> 10 with Seq 2, read before nothing newer.
	apply(&Edit{DeleteTables: []TableRef{{Level: 4, ID: 1}, {Level: 4, ID: 2}},
		AddTables: []TableEntry{{Level: 4, Meta: seqMeta(meta(10, "a", "z"), 2), Ingest: true, Shard: 0}}})
	// A table flushed later and moved into shard 0 sorts before 10.
	apply(&Edit{AddTables: []TableEntry{{Level: 4, Meta: meta(11, "a", "b"), Ingest: true, Shard: 0}}})
	if got := ids(m.State().Ingest[4][0]); !reflect.DeepEqual(got, []uint64{11, 10}) {
		t.Fatalf("shard 0 = %v, want [11 10] (newest Seq first)", got)
	}
	// Deleting from a buffer by level and id; adding to L0's buffer fails.
	if err := m.Apply(&Edit{AddTables: []TableEntry{{Level: 0, Meta: meta(12, "a", "b"), Ingest: true}}}); err == nil {
		t.Fatal("a table added to an L0 ingest buffer was accepted")
	}
	apply(&Edit{DeleteTables: []TableRef{{Level: 4, ID: 3}}})
	want := m.State()
	if len(want.Ingest[4]) != 1 {
		t.Fatalf("empty shard 1 not trimmed: %+v", want.Ingest)
	}
	m.Close()
	for _, size := range []int64{1 << 20, 1} { // replayed, then rewritten as a snapshot
		m, err = Open(fs, "/db", Options{MaxSize: size})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.State(); !reflect.DeepEqual(got, want) {
			t.Fatalf("reopened state differs:\n got %+v\nwant %+v", got, want)
		}
		apply(&Edit{NextFileNum: 100})
		want = m.State()
		m.Close()
	}
	var out bytes.Buffer
	if err := Dump(fs, "/db", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "L4 ingest shard 0: 2 tables") || !strings.Contains(out.String(), "000010 seq=2") {
		t.Fatalf("dump does not show the buffer:\n%s", out.String())
	}
}
