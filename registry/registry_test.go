package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/iface"
)

func TestResolveDefaults(t *testing.T) {
	var o backend.Options
	c, err := Builtin().Resolve(Config{}, &o)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Config{Memtable: "skiplist", Compaction: "leveled", ValueStore: "vlog"}) {
		t.Fatalf("defaults resolved to %v", c)
	}
	if o.NewMemtable == nil || o.CompactionPolicy == nil || o.NewValueStore == nil {
		t.Fatal("Resolve left a component unset")
	}
}

func TestUnknownNameListsValid(t *testing.T) {
	var o backend.Options
	_, err := Builtin().Resolve(Config{Memtable: "rbtree"}, &o)
	if !errors.Is(err, iface.ErrInvalidArgument) {
		t.Fatalf("want ErrInvalidArgument, got %v", err)
	}
	for _, want := range []string{`"rbtree"`, "btree", "skiplist"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %s", err, want)
		}
	}
}

func TestCombinations(t *testing.T) {
	r := Builtin()
	combos := r.Combinations()
	want := len(r.Names(KindMemtable)) * len(r.Names(KindCompaction)) * len(r.Names(KindValueStore))
	if len(combos) != want || want < 2 {
		t.Fatalf("got %d combinations, want %d (>= 2)", len(combos), want)
	}
	for _, c := range combos {
		var o backend.Options
		if _, err := r.Resolve(c, &o); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
	}
}
