package btree

import (
	"testing"

	"github.com/nokv/nokv/memtable/memtabletest"
)

func TestConformance(t *testing.T) { memtabletest.RunConformance(t, New) }
