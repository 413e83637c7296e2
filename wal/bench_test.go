package wal

import (
	"bytes"
	"testing"

	"github.com/nokv/nokv/iface"
)

// BenchmarkAppend measures unsynced appends of 100-byte records.
func BenchmarkAppend(b *testing.B) {
	l := open(b, b.TempDir(), 0)
	rec := bytes.Repeat([]byte{'v'}, 100)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendSync measures appends of 100-byte records, each followed by
// a Sync (the cost of a synchronous write without group commit).
func BenchmarkAppendSync(b *testing.B) {
	l := open(b, b.TempDir(), 0)
	rec := bytes.Repeat([]byte{'v'}, 100)
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplay measures replaying 100-byte records.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	l := open(b, dir, 0)
	rec := bytes.Repeat([]byte{'v'}, 100)
	const n = 100000
	for range n {
		if _, err := l.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	l = open(b, dir, 0)
	b.SetBytes(n * int64(len(rec)))
	for b.Loop() {
		if err := l.Replay(iface.LogPosition{}, func(iface.LogPosition, []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
