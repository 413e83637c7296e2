package main

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRun feeds arbitrary command lines (arguments separated by NUL bytes)
// to the CLI's entry point. Every --dir is pointed at a fresh temporary
// directory, and the verbs that run long workloads or start processes
// (bench, stress) are left out. The CLI must exit 0, 1 or 2, explain every
// usage error on stderr, and never panic (run turns a panic into an
// "internal error" message, which the target rejects).
func FuzzRun(f *testing.F) {
	for _, line := range []string{
		"", "help", "help\x00put", "put\x00--dir\x00D\x00k\x00v", "put\x00--dir=D\x00--sync\x00k\x00v",
		"get\x00--dir\x00D\x00k", "delete\x00--dir\x00D\x00k", "scan\x00--dir\x00D\x00--prefix\x00a\x00--reverse\x00--hex\x00--limit\x003",
		"scan\x00--dir\x00D\x00--start\x00b\x00--end\x00a", "stats\x00--dir\x00D\x00--json", "manifest\x00--dir\x00D",
		"check\x00--dir\x00D", "put\x00--dir\x00D\x00\x00v", "get\x00-dir", "nope", "put\x00--help", "scan\x00--limit\x00-1\x00--dir\x00D",
	} {
		f.Add([]byte(line))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		args := strings.Split(string(line), "\x00")
		if len(line) == 0 {
			args = nil
		}
		if len(args) > 12 {
			return
		}
		if len(args) > 0 && (args[0] == "bench" || args[0] == "stress") {
			return
		}
		dir := ""
		for i, a := range args {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") || name != "dir" {
				continue
			}
			if dir == "" {
				dir = t.TempDir() + "/store"
			}
			if hasValue {
				args[i] = "--dir=" + dir
			} else if i+1 < len(args) {
				args[i+1] = dir
			}
		}
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if strings.Contains(errOut.String(), "internal error") {
			t.Fatalf("nokv %q panicked:\n%s", args, errOut.String())
		}
		switch code {
		case exitOK, exitFail:
		case exitUsage:
			if errOut.Len() == 0 {
				t.Fatalf("nokv %q: usage error without a message", args)
			}
		default:
			t.Fatalf("nokv %q: exit status %d", args, code)
		}
	})
}
