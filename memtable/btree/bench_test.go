package btree

import (
	"testing"

	"github.com/nokv/nokv/memtable/memtabletest"
)

func BenchmarkAdd(b *testing.B) {
	b.Run("seq", func(b *testing.B) { memtabletest.BenchAdd(b, New, false) })
	b.Run("random", func(b *testing.B) { memtabletest.BenchAdd(b, New, true) })
}

func BenchmarkAddParallel(b *testing.B) { memtabletest.BenchAddParallel(b, New) }

func BenchmarkGet(b *testing.B) { memtabletest.BenchGet(b, New) }
