package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nokv/nokv"
)

// nokvRun runs the CLI with args and returns the exit status and what it
// wrote to stdout and stderr.
func nokvRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := nokvRun(t, args...)
	if code != exitOK {
		t.Fatalf("nokv %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

func TestPutGetDelete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, "put", "--dir", dir, "alpha", "one")
	mustRun(t, "put", "--dir", dir, "--sync", "beta", "two words\twith tab")
	if got := mustRun(t, "get", "--dir", dir, "alpha"); got != "one\n" {
		t.Fatalf("get alpha = %q, want %q", got, "one\n")
	}
	if got := mustRun(t, "get", "--dir", dir, "beta"); got != "two words\twith tab\n" {
		t.Fatalf("get beta = %q", got)
	}
	mustRun(t, "put", "--dir", dir, "alpha", "uno") // overwrite
	if got := mustRun(t, "get", "--dir", dir, "alpha"); got != "uno\n" {
		t.Fatalf("get alpha after overwrite = %q", got)
	}
	mustRun(t, "delete", "--dir", dir, "alpha")
	code, out, errOut := nokvRun(t, "get", "--dir", dir, "alpha")
	if code != exitFail || out != "" || !strings.Contains(errOut, "not found") {
		t.Fatalf("get deleted key: exit %d, stdout %q, stderr %q; want exit 1 and a message", code, out, errOut)
	}
	mustRun(t, "delete", "--dir", dir, "never-written") // absent: not an error
	if got := mustRun(t, "get", "--dir", dir, "beta"); got != "two words\twith tab\n" {
		t.Fatalf("get beta at the end = %q", got)
	}
}

func TestGetMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, "put", "--dir", dir, "k", "v")
	code, out, errOut := nokvRun(t, "get", "--dir", dir, "nope")
	if code != exitFail || out != "" || !strings.Contains(errOut, `"nope" not found`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Read-only verbs on a directory without a store fail and create nothing.
	empty := filepath.Join(t.TempDir(), "none")
	for _, verb := range []string{"get", "scan", "stats", "manifest", "check", "delete"} {
		args := []string{verb, "--dir", empty}
		if verb == "get" || verb == "delete" {
			args = append(args, "k")
		}
		if code, _, errOut := nokvRun(t, args...); code != exitFail || errOut == "" {
			t.Errorf("%s on a missing store: exit %d, stderr %q; want exit 1", verb, code, errOut)
		}
		if _, err := os.Stat(empty); !os.IsNotExist(err) {
			t.Fatalf("%s created %s", verb, empty)
		}
	}
}

func TestScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := nokv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"a", "1"}, {"b1", "2"}, {"b2", "3"}, {"b3", "4"}, {"c", "5"}, {"gone", "x"}} {
		if err := db.Set([]byte(kv[0]), []byte(kv[1]), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Delete([]byte("gone"), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	lines := func(kvs ...string) string {
		var b strings.Builder
		for i := 0; i < len(kvs); i += 2 {
			b.WriteString(kvs[i] + "\t" + kvs[i+1] + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{nil, lines("a", "1", "b1", "2", "b2", "3", "b3", "4", "c", "5")},
		{[]string{"--prefix", "b"}, lines("b1", "2", "b2", "3", "b3", "4")},
		{[]string{"--start", "b2"}, lines("b2", "3", "b3", "4", "c", "5")},
		{[]string{"--end", "b2"}, lines("a", "1", "b1", "2")},
		{[]string{"--start", "b1", "--end", "c"}, lines("b1", "2", "b2", "3", "b3", "4")},
		{[]string{"--prefix", "b", "--start", "b2"}, lines("b2", "3", "b3", "4")},
		{[]string{"--limit", "2"}, lines("a", "1", "b1", "2")},
		{[]string{"--reverse"}, lines("c", "5", "b3", "4", "b2", "3", "b1", "2", "a", "1")},
		{[]string{"--reverse", "--limit", "2", "--prefix", "b"}, lines("b3", "4", "b2", "3")},
		{[]string{"--reverse", "--start", "b1", "--end", "b3"}, lines("b2", "3", "b1", "2")},
		{[]string{"--prefix", "zz"}, ""},
		{[]string{"--hex", "--prefix", "c"}, lines("63", "35")},
	} {
		args := append([]string{"scan", "--dir", dir}, tc.flags...)
		if got := mustRun(t, args...); got != tc.want {
			t.Errorf("scan %q:\ngot  %q\nwant %q", tc.flags, got, tc.want)
		}
	}
	if code, _, _ := nokvRun(t, "scan", "--dir", dir, "--limit", "-1"); code != exitUsage {
		t.Errorf("scan --limit -1: exit %d, want %d", code, exitUsage)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, v := range verbs() {
		code, out, errOut := nokvRun(t, v.name, "--help")
		if code != exitOK || !strings.HasPrefix(out, "usage: nokv "+v.name) || errOut != "" {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", v.name, code, out, errOut)
		}
		if code, out, _ := nokvRun(t, "help", v.name); code != exitOK || !strings.HasPrefix(out, "usage: nokv "+v.name) {
			t.Errorf("help %s: exit %d, stdout %q", v.name, code, out)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, out, _ := nokvRun(t, args...)
		if code != exitOK || !strings.Contains(out, "verbs:") || !strings.Contains(out, "bench") {
			t.Errorf("%q: exit %d, stdout %q", args, code, out)
		}
	}
	code, _, errOut := nokvRun(t)
	if code != exitUsage || !strings.Contains(errOut, "verbs:") {
		t.Errorf("no verb: exit %d, stderr %q; want the verb list and exit %d", code, errOut, exitUsage)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"frobnicate"},
		{"help", "frobnicate"},
		{"get", "--dir", dir, "--bogus", "k"},
		{"scan", "--nope"},
		{"bench", "--keys", "abc"},
		{"put", "k", "v"},                              // no --dir
		{"put", "--dir", dir, "k"},                     // missing VALUE
		{"put", "--dir", dir, "k", "v", "extra"},       // too many
		{"put", "--dir", dir, "", "v"},                 // empty key
		{"get", "--dir", dir},                          // missing KEY
		{"scan", "--dir", dir, "stray"},                // positional
		{"bench", "--keys", "0"},                       // out of range
		{"bench", "--keys", "1000", "--key-size", "2"}, // keys do not fit
		{"bench", "--workloads", "fillrandom,nope"},
		{"bench", "--workloads", ","},
		{"bench", "--batch", "0"},
	} {
		code, out, errOut := nokvRun(t, args...)
		if code != exitUsage || errOut == "" || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and a message on stderr", args, code, out, errOut, exitUsage)
		}
	}
}

// TestOddInputs feeds inputs that must neither panic nor succeed silently.
func TestOddInputs(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("not a store"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"put", "--dir", file, "k", "v"},
		{"get", "--dir", file, "k"},
		{"stats", "--dir", file},
		{"manifest", "--dir", file},
		{"check", "--dir", file},
		{"bench", "--dir", file, "--keys", "10"},
		{"put", "--dir", "\x00bad", "k", "v"},
	} {
		if code, _, errOut := nokvRun(t, args...); code == exitOK || errOut == "" || strings.Contains(errOut, "internal error") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestStatsAndManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeAndFlush(t, dir, 500)
	out := mustRun(t, "stats", "--dir", dir)
	for _, want := range []string{"level", "L0", "total", "last version:", "on disk:"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
	var st nokv.Stats
	if err := json.Unmarshal([]byte(mustRun(t, "stats", "--dir", dir, "--json")), &st); err != nil {
		t.Fatalf("stats --json: %v", err)
	}
	if st.LastVersion == 0 || len(st.Levels) == 0 {
		t.Errorf("stats --json: %+v", st)
	}
	tables := 0
	for _, l := range st.Levels {
		tables += l.Tables
	}
	if tables == 0 {
		t.Errorf("stats --json reports no tables after a flush: %+v", st.Levels)
	}
	out = mustRun(t, "manifest", "--dir", dir)
	for _, want := range []string{"components", "sstable", "tables:"} {
		if !strings.Contains(out, want) {
			t.Errorf("manifest output lacks %q:\n%s", want, out)
		}
	}
}

// TestStatsLevelsAndThrottle checks that 'nokv stats' shows the shape of
// the tree per level and the write throttle, and that --json carries the
// per-level, amplification and throttling fields.
func TestStatsLevelsAndThrottle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeAndFlush(t, dir, 500)
	out := mustRun(t, "stats", "--dir", dir)
	for _, want := range []string{"target", "score", "read-amp", "in", "read", "written", "w-amp",
		"write throttle:   normal", "write delays", "write stalls"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
	raw := mustRun(t, "stats", "--dir", dir, "--json")
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		t.Fatalf("stats --json: %v", err)
	}
	for _, want := range []string{"WriteDelays", "WriteDelayTime", "WriteStalls", "WriteStallTime", "Debt",
		"UserBytes", "WriteAmp", "ReadAmp", "Levels"} {
		if _, ok := fields[want]; !ok {
			t.Errorf("stats --json lacks %s:\n%s", want, raw)
		}
	}
	var levels []map[string]json.RawMessage
	if err := json.Unmarshal(fields["Levels"], &levels); err != nil || len(levels) == 0 {
		t.Fatalf("stats --json levels: %v", err)
	}
	for _, want := range []string{"Tables", "Bytes", "IngestTables", "IngestBytes", "Target", "Score", "ReadAmp",
		"BytesIn", "BytesRead", "BytesWritten", "BytesMovedIn", "BytesMovedOut", "Compactions", "WriteAmp"} {
		if _, ok := levels[0][want]; !ok {
			t.Errorf("stats --json levels lack %s: %s", want, fields["Levels"])
		}
	}
	var st nokv.Stats
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	tables, targets := 0, 0
	for _, l := range st.Levels {
		tables += l.Tables
		if l.Target > 0 {
			targets++
		}
	}
	if st.ReadAmp < 1 || st.ReadAmp > tables || targets == 0 {
		t.Errorf("read amplification %d with %d tables, %d targets: %+v", st.ReadAmp, tables, targets, st.Levels)
	}
	if st.Debt.State != "normal" || st.Debt.L0Tables != st.Levels[0].Tables {
		t.Errorf("debt %+v with %d L0 tables", st.Debt, st.Levels[0].Tables)
	}
}
