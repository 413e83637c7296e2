package main

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// benchRow is one parsed row of the bench table.
type benchRow struct {
	ops   int64
	rate  float64
	notes string
}

// parseBench returns the rows of bench output by workload name.
func parseBench(t *testing.T, out string) map[string]benchRow {
	t.Helper()
	rows := map[string]benchRow{}
	inTable := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "workload" {
			inTable = true
			continue
		}
		if !inTable || len(f) < 8 || !slices.Contains(workloadNames, f[0]) {
			continue
		}
		ops, err1 := strconv.ParseInt(f[1], 10, 64)
		rate, err2 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad row %q", line)
		}
		rows[f[0]] = benchRow{ops: ops, rate: rate, notes: strings.Join(f[8:], " ")}
	}
	return rows
}

func TestBench(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "--keys", "2000", "--memtable-size", "65536",
		"--workloads", "fillseq,fillrandom,overwrite,readrandom,readseq,scan")
	rows := parseBench(t, out)
	for _, w := range []string{"fillseq", "fillrandom", "overwrite", "readrandom", "readseq", "scan"} {
		r, ok := rows[w]
		if !ok {
			t.Fatalf("no row for %s in:\n%s", w, out)
		}
		if r.ops != 2000 || r.rate <= 0 {
			t.Errorf("%s: ops %d, ops/s %v; want 2000 ops at a non-zero rate\n%s", w, r.ops, r.rate, out)
		}
	}
	if rows["readrandom"].notes != "misses=0" {
		t.Errorf("readrandom notes %q, want misses=0", rows["readrandom"].notes)
	}
	if rows["scan"].notes != "entries=2000" {
		t.Errorf("scan notes %q, want entries=2000", rows["scan"].notes)
	}
	for _, want := range []string{"levels:", "flushes", "compactions", "write-amp", "disk"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchDefaultWorkloadsAndDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := mustRun(t, "bench", "--dir", dir, "--keys", "2000", "--batch", "16", "--sync", "--value-size", "10", "--key-size", "8")
	rows := parseBench(t, out)
	if len(rows) != 3 || rows["fillrandom"].rate <= 0 || rows["readrandom"].notes != "misses=0" || rows["scan"].ops != 2000 {
		t.Fatalf("default workloads: %+v\n%s", rows, out)
	}
	if !strings.Contains(out, "per batch of 16") {
		t.Errorf("batched run does not say latencies are per batch:\n%s", out)
	}
	// The store is kept, and a second run writes over it.
	if got := mustRun(t, "get", "--dir", dir, "00000000"); len(got) != 11 {
		t.Fatalf("key 00000000 after bench: %q", got)
	}
	out = mustRun(t, "bench", "--dir", dir, "--keys", "2000", "--key-size", "8", "--workloads", "readrandom")
	if rows := parseBench(t, out); rows["readrandom"].notes != "misses=0" {
		t.Fatalf("readrandom over the kept store: %+v\n%s", rows, out)
	}
	// Only reads: no write amplification to report.
	if !strings.Contains(out, "write-amp n/a") {
		t.Errorf("read-only run reports a write-amp:\n%s", out)
	}
}

func TestBenchComponents(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "bench", "--keys", "2000", "--memtable", "btree", "--compaction", "leveled", "--value-store", "inline")
	if !strings.Contains(out, "memtable=btree") || parseBench(t, out)["readrandom"].notes != "misses=0" {
		t.Fatalf("bench --memtable btree:\n%s", out)
	}
	for _, flag := range []string{"--memtable", "--compaction", "--value-store"} {
		code, out, errOut := nokvRun(t, "bench", "--keys", "10", flag, "nope")
		if code != exitFail || !strings.Contains(errOut, `"nope"`) || !strings.Contains(errOut, "valid:") {
			t.Errorf("bench %s nope: exit %d, stdout %q, stderr %q; want the valid names", flag, code, out, errOut)
		}
	}
	if _, _, errOut := nokvRun(t, "bench", "--memtable", "nope"); !strings.Contains(errOut, "btree, skiplist") {
		t.Errorf("bench --memtable nope does not list btree and skiplist: %q", errOut)
	}
}

func TestPermutation(t *testing.T) {
	t.Parallel()
	for _, n := range []uint64{1, 2, 3, 4, 5, 7, 16, 17, 1000, 4097, 65536} {
		p := newPermutation(n, n*31+7)
		seen := make([]bool, n)
		identity := true
		for i := range n {
			x := p.at(i)
			if x >= n || seen[x] {
				t.Fatalf("n=%d: at(%d)=%d is out of range or repeated", n, i, x)
			}
			seen[x] = true
			identity = identity && x == i
		}
		if n >= 16 && identity {
			t.Errorf("n=%d: the permutation is the identity", n)
		}
	}
	a, b := newPermutation(1000, 1), newPermutation(1000, 1)
	for i := range uint64(1000) {
		if a.at(i) != b.at(i) {
			t.Fatal("the same seed gave two permutations")
		}
	}
}

func TestFormatKey(t *testing.T) {
	t.Parallel()
	k := make([]byte, 6)
	formatKey(k, 42)
	if string(k) != "000042" {
		t.Fatalf("formatKey = %q", k)
	}
	if maxKeys(3) != 1000 || maxKeys(40) != math.MaxInt64 {
		t.Fatalf("maxKeys(3)=%d maxKeys(40)=%d", maxKeys(3), maxKeys(40))
	}
}

func TestFmtLatency(t *testing.T) {
	t.Parallel()
	for ns, want := range map[int64]string{999: "999ns", 1500: "1.50µs", 25_300: "25.3µs", 7_000_000: "7.00ms", 2_500_000_000: "2.50s"} {
		if got := fmtLatency(ns); got != want {
			t.Errorf("fmtLatency(%d) = %q, want %q", ns, got, want)
		}
	}
}
