package memtabletest_test

import (
	"testing"

	"github.com/nokv/nokv/memtable/btree"
	"github.com/nokv/nokv/memtable/memtabletest"
	"github.com/nokv/nokv/memtable/skiplist"
)

func TestDifferentialSkiplistBTree(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	for seed := range int64(seeds) {
		memtabletest.RunDifferential(t, skiplist.New, btree.New, seed)
	}
}
