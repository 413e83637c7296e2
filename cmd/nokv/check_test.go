package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nokv/nokv"
)

// writeAndFlush writes n keys to the store in dir through the library and
// flushes them into a table, so the store holds at least one .sst file.
func writeAndFlush(t *testing.T, dir string, n int) {
	t.Helper()
	db, err := nokv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := nokv.NewBatch()
	for i := range n {
		b.Set(fmt.Appendf(nil, "key%06d", i), fmt.Appendf(nil, "value-%06d-%s", i, strings.Repeat("v", 80)))
	}
	if err := db.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// tableFiles lists the .sst files of dir.
func tableFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestCheckFresh(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, "put", "--dir", dir, "k", "v")
	out := mustRun(t, "check", "--dir", dir)
	if !strings.HasPrefix(out, "ok") {
		t.Fatalf("check on a fresh store: %q", out)
	}

	writeAndFlush(t, dir, 2000)
	if len(tableFiles(t, dir)) == 0 {
		t.Fatal("no table after Flush")
	}
	out = mustRun(t, "check", "--dir", dir)
	if !strings.HasPrefix(out, "ok") || strings.HasPrefix(out, "ok: 0 tables") {
		t.Fatalf("check after a flush: %q", out)
	}
}

func TestCheckCorruptTable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeAndFlush(t, dir, 2000)
	tables := tableFiles(t, dir)
	if len(tables) == 0 {
		t.Fatal("no table after Flush")
	}
	name := tables[0]
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	// The first data block starts the file; damage a byte inside it.
	data[100] ^= 0xff
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := nokvRun(t, "check", "--dir", dir)
	if code != exitFail {
		t.Fatalf("check of a damaged table: exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, filepath.Base(name)) || !strings.Contains(out, "offset") {
		t.Fatalf("check did not name the file %s and an offset:\n%s", filepath.Base(name), out)
	}
	if !strings.Contains(errOut, "problem") {
		t.Errorf("check stderr %q lacks the problem count", errOut)
	}
}

// TestCheckOpenStore: check refuses a store another holder has open, since
// a writer could change files under the check.
func TestCheckOpenStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := nokv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errOut := nokvRun(t, "check", "--dir", dir)
	if code != exitFail || !strings.Contains(errOut, "lock") {
		t.Fatalf("check of an open store: exit %d, stderr %q", code, errOut)
	}
}
