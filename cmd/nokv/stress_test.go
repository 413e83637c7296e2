package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStressChildHelper is not a test: it is the child process of the
// stress tests. A test binary cannot run main, so the stress verb
// re-executes the test binary with this test selected and the child's
// arguments after "--".
func TestStressChildHelper(t *testing.T) {
	if os.Getenv("NOKV_STRESS_CHILD") != "1" {
		t.Skip("runs only as the child of a stress test")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// useTestChild makes the stress verb start its children from this test
// binary.
func useTestChild(t *testing.T) {
	old := stressExec
	stressExec = func(args []string) (*exec.Cmd, error) {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestStressChildHelper$", "--", "stress", stressChildArg}, args...)...)
		cmd.Env = append(os.Environ(), "NOKV_STRESS_CHILD=1")
		return cmd, nil
	}
	t.Cleanup(func() { stressExec = old })
}

var stressSummary = regexp.MustCompile(`ok: (\d+) cycles in .*, (\d+) acknowledged batches verified`)

// TestStressShort runs a few kill-and-verify cycles with real processes
// (the long setting is in docs/durability.md). Every acknowledged batch must
// survive every kill.
func TestStressShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	useTestChild(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"synced", []string{"--cycles", "5", "--kill-after", "400ms", "--seed", "2"}},
		{"unsynced-btree", []string{"--cycles", "3", "--kill-after", "300ms", "--seed", "9", "--unsynced", "60", "--writers", "3", "--memtable", "btree"}},
		{"vlog", []string{"--cycles", "4", "--kill-after", "400ms", "--seed", "1", "--value-store", "vlog"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "stress")
			start := time.Now()
			out := mustRun(t, append([]string{"stress", "--dir", dir, "-v"}, tc.args...)...)
			m := stressSummary.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no summary in the output:\n%s", out)
			}
			if m[2] == "0" {
				t.Fatalf("no batch was acknowledged: the kills came too early to test anything\n%s", out)
			}
			t.Logf("%s(%v)", out, time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestStressUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"stress", "--cycles", "-1"},
		{"stress", "--cycles", "0"},
		{"stress", "--writers", "0"},
		{"stress", "--unsynced", "101"},
		{"stress", "--memtable", "nope"},
		{"stress", "extra"},
	} {
		if code, _, errOut := nokvRun(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	code, out, _ := nokvRun(t, "stress", "--help")
	if code != exitOK || !strings.Contains(out, "--cycles") || strings.Contains(out, stressChildArg) {
		t.Errorf("stress --help: exit %d, output %q (the child flag must stay hidden)", code, out)
	}
	// A directory that already holds a store is refused: the model starts
	// empty.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := nokvRun(t, "stress", "--dir", dir, "--cycles", "1"); code != exitFail || !strings.Contains(errOut, "already exists") {
		t.Errorf("stress on a used directory: exit %d, stderr %q", code, errOut)
	}
}

// TestStressBatchesAreDeterministic checks what the parent relies on: the
// same (seed, cycle, writer) stream yields the same batches and values.
func TestStressBatchesAreDeterministic(t *testing.T) {
	t.Parallel()
	cfg := &stressConfig{seed: 9, writers: 2, keys: 100, unsynced: 30}
	a, b := stressStream(9, 2, 1), stressStream(9, 2, 1)
	for seq := range 200 {
		x, y := nextStressBatch(a, cfg, 2, 1, seq), nextStressBatch(b, cfg, 2, 1, seq)
		if fmt.Sprint(x.entries, x.sync) != fmt.Sprint(y.entries, y.sync) {
			t.Fatalf("batch %d differs", seq)
		}
		for i := range x.entries {
			if string(x.value(i)) != string(y.value(i)) {
				t.Fatalf("batch %d entry %d: values differ", seq, i)
			}
		}
	}
}
