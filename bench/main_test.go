package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TestMain lets the test binary stand in for the harness binary: the
// harness re-executes itself with childFlag for every run, and under go
// test "itself" is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(runChild(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestHarnessTiny runs every chain on every engine at the tiny size and
// checks that it produces its tables and that every figure is there and
// non-zero. It asserts nothing about speed.
func TestHarnessTiny(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"--size", "tiny", "--out", out, "--dir", t.TempDir(), "--allow-cgo",
		"--profile", "nokv:fillrandom"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr.String())
	}
	md := stdout.String()
	for _, want := range []string{"## Throughput", "## Latency", "## Write amplification", "## Space amplification",
		"## Writes side by side", "| fillrandom-4 | Badger | ", "## Memory", "## All figures", "## CPU time per operation", "NoKV ÷ best peer", "| NoKV | Pebble | Pebble tuned | Badger | Badger vlog |"} {
		if !strings.Contains(md, want) {
			t.Errorf("results lack %q", want)
		}
	}
	for _, ch := range chains() {
		for _, w := range ch.workloads {
			if !strings.Contains(md, "| "+w+" |") {
				t.Errorf("results have no row for %s", w)
			}
		}
	}
	if strings.Contains(md, "fail") {
		t.Errorf("results report failures:\n%s", md)
	}
	for _, f := range []string{"results.md", "results.json", "options.md",
		"profiles/nokv-fillrandom.cpu.pprof", "profiles/nokv-fillrandom.allocs.pprof"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	opts, _ := os.ReadFile(filepath.Join(out, "options.md"))
	for _, want := range []string{"MemtableSize = 67108864", "cache_size=8388608", "ValueThreshold = 1024", "SyncWrites = true"} {
		if !bytes.Contains(opts, []byte(want)) {
			t.Errorf("options.md lacks %q", want)
		}
	}

	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []chainResult `json:"results"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if want := len(engines()) * len(chains()); len(doc.Results) != want {
		t.Fatalf("%d results, want %d", len(doc.Results), want)
	}
	for _, c := range doc.Results {
		id := c.Engine + "/" + c.Chain
		if c.Error != "" {
			t.Errorf("%s: %s", id, c.Error)
			continue
		}
		if c.VMHWM <= 0 || c.RSSAnonPeak <= 0 || c.DiskAlloc <= 0 || c.LiveBytes <= 0 {
			t.Errorf("%s: memory %d/%d, disk %d, live %d: want all non-zero",
				id, c.VMHWM, c.RSSAnonPeak, c.DiskAlloc, c.LiveBytes)
		}
		if c.ProcIO && (c.WriteBytes <= 0 || c.wamp() <= 0) {
			t.Errorf("%s: chain wrote %d bytes (w-amp %.2f): want non-zero", id, c.WriteBytes, c.wamp())
		}
		for _, w := range c.Workloads {
			id := id + "/" + w.Name
			if w.Ops <= 0 || w.opsPerSec() <= 0 || w.mbPerSec() <= 0 || w.CPUSeconds <= 0 {
				t.Errorf("%s: ops %d, %.0f ops/s, %.2f MB/s, %.3f CPU s: want non-zero", id, w.Ops, w.opsPerSec(), w.mbPerSec(), w.CPUSeconds)
			}
			if w.Name != "scan" && (w.P50 <= 0 || w.P99 < w.P50 || w.P999 < w.P99) {
				t.Errorf("%s: latencies %v/%v/%v: want 0 < p50 <= p99 <= p99.9", id, w.P50, w.P99, w.P999)
			}
			// A fill writes fresh files, so it must dirty pages. Later
			// writes may legitimately show 0: rewriting pages still dirty
			// (Pebble recycles its WAL files) is not charged again.
			fill := strings.HasPrefix(w.Name, "fill") || w.Name == "ycsb-load"
			if c.ProcIO && fill && w.wamp() <= 0 {
				t.Errorf("%s: wrote %d user bytes but w-amp is %.2f", id, w.UserWrite, w.wamp())
			}
			// Stall times: for every writing workload of an engine that
			// reports them (NoKV, Pebble), never for Badger or a read-only
			// workload. (A tiny readwhilewriting may end before its writer
			// wrote, so UserWrite does not tell.)
			writing := !slices.Contains([]string{"readrandom", "readrandom-reopen", "scan", "ycsb-c"}, w.Name)
			wantStall := writing && !strings.HasPrefix(c.Engine, "badger")
			if got := w.StallSeconds != nil && w.StallPercent != nil; got != wantStall {
				t.Errorf("%s: stall reported %v, want %v", id, got, wantStall)
			}
			wantDelay := writing && strings.HasPrefix(c.Engine, "nokv")
			if got := w.DelaySeconds != nil && w.DelayPercent != nil; got != wantDelay {
				t.Errorf("%s: delay reported %v, want %v", id, got, wantDelay)
			}
			if w.StallSeconds != nil && (*w.StallSeconds < 0 || *w.StallSeconds > w.Seconds+1) {
				t.Errorf("%s: stalled %.3f s of a %.3f s workload", id, *w.StallSeconds, w.Seconds)
			}
		}
	}
}

// TestNoKVVariants checks that every non-default pairing of compaction
// policy and value store is an engine, named by the parts that differ.
func TestNoKVVariants(t *testing.T) {
	var names []string
	for _, e := range nokvVariants() {
		names = append(names, e.name)
	}
	for _, want := range []string{"nokv-tiered", "nokv-inline", "nokv-tiered-inline"} {
		if !slices.Contains(names, want) {
			t.Errorf("variants %v lack %s", names, want)
		}
		if es, err := findEngines(want); err != nil || len(es) != 1 {
			t.Errorf("findEngines(%q): %v, %v", want, es, err)
		}
	}
	if slices.Contains(names, "nokv") || slices.Contains(names, "nokv-leveled-vlog") {
		t.Errorf("variants %v include the defaults", names)
	}
	for _, e := range engines() {
		if slices.Contains(names, e.name) {
			t.Errorf("variant %s is in the default set", e.name)
		}
	}
}

// TestNoKVVariantsOpen writes, reopens and reads back a few keys with every
// variant (the tiny harness run covers only the default set).
func TestNoKVVariantsOpen(t *testing.T) {
	for _, e := range nokvVariants() {
		t.Run(e.name, func(t *testing.T) {
			dir := t.TempDir()
			st, _, err := e.open(dir, openConfig{})
			if err != nil {
				t.Fatal(err)
			}
			w := st.newWriter()
			for i := range 100 {
				key := []byte(fmt.Sprintf("%016d", i))
				if err := w.set(key, bytes.Repeat([]byte{byte(i)}, 2000)); err != nil {
					t.Fatal(err)
				}
				if err := w.commit(false); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.close(); err != nil {
				t.Fatal(err)
			}
			if st, _, err = e.open(dir, openConfig{}); err != nil {
				t.Fatal(err)
			}
			defer st.close()
			n, err := st.scan(nil, 0, func(k, v []byte) {})
			if err != nil || n != 100 {
				t.Fatalf("scan after reopen: %d entries, %v; want 100", n, err)
			}
		})
	}
}

func TestStallClock(t *testing.T) {
	var c stallClock
	c.end() // an end without a begin is ignored
	c.begin(pebble.WriteStallBeginInfo{})
	time.Sleep(5 * time.Millisecond)
	if d := c.read(); d < 5*time.Millisecond {
		t.Errorf("stall under way reads %v, want at least 5ms", d)
	}
	c.end()
	d := c.read()
	time.Sleep(2 * time.Millisecond)
	if c.read() != d || d < 5*time.Millisecond {
		t.Errorf("after the end: %v then %v", d, c.read())
	}
}

func TestShuffleIsAPermutation(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 10, 1000, 4097} {
		s := newShuffle(n, 7)
		seen := make([]bool, n)
		for i := range n {
			v := s.at(i)
			if v >= n || seen[v] {
				t.Fatalf("n=%d: at(%d)=%d repeats or is out of range", n, i, v)
			}
			seen[v] = true
		}
	}
}

func TestZipfianSkew(t *testing.T) {
	const n = 10000
	z := newZipfian(n, ycsbTheta)
	rng := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, n)
	for range 200000 {
		v := z.next(rng)
		if v >= n {
			t.Fatalf("draw %d out of range", v)
		}
		counts[v]++
	}
	// With theta 0.99 over 10^4 items, item 0 draws about 10% and the first
	// 10 items about 30%; the last thousand together well under 5%.
	head, tail := 0, 0
	for i := range 10 {
		head += counts[i]
	}
	for i := n - 1000; i < n; i++ {
		tail += counts[i]
	}
	if counts[0] < 15000 || head < 50000 || tail > 10000 {
		t.Errorf("item 0: %d, first 10: %d, last 1000: %d of 200000: not zipfian", counts[0], head, tail)
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := int64(1); i <= 100000; i++ {
		h.Record(i)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 50000}, {0.99, 99000}, {0.999, 99900}} {
		got := float64(h.Quantile(c.q))
		if got < c.want*0.97 || got > c.want*1.03 {
			t.Errorf("quantile(%v) = %v, want %v within 3%%", c.q, got, c.want)
		}
	}
}

func TestStatMedianAndSpread(t *testing.T) {
	s := statOf([]float64{10, 30, 20})
	if s.med != 20 || s.lo != 10 || s.hi != 30 || s.spread() != 0.5 {
		t.Errorf("stat %+v spread %v", s, s.spread())
	}
	if s := statOf([]float64{1, 2, 3, 4}); s.med != 2.5 {
		t.Errorf("even median %v, want 2.5", s.med)
	}
}

func TestPlanAlternatesEngines(t *testing.T) {
	cfg := config{size: size{Reps: 3}, engines: engines(), chains: chains()[:2]}
	runs := plan(cfg)
	if len(runs) != 3*2*len(cfg.engines) {
		t.Fatalf("%d runs", len(runs))
	}
	firsts := map[string]bool{}
	for i := 0; i < len(runs); i += len(cfg.engines) {
		firsts[runs[i].engine.name] = true
	}
	if len(firsts) < 3 {
		t.Errorf("the same few engines always run first: %v", firsts)
	}
}
