package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/nokv/nokv"
	"github.com/nokv/nokv/internal/histogram"
	"github.com/nokv/nokv/internal/progress"
	"github.com/nokv/nokv/registry"
)

// benchConfig is what the bench flags ask for.
type benchConfig struct {
	dir          string
	keys         int64
	keySize      int
	valueSize    int
	batch        int
	sync         bool
	seed         uint64
	memtableSize int64
	segmentSize  int64
	components   registry.Config
	workloads    []string
	progress     bool
	cpuProfile   string // CPU profile file, if any
}

// bench is one run of the bench verb: the open store and what the
// workloads share.
type bench struct {
	cfg         benchConfig
	db          *nokv.DB
	values      *rand.ChaCha8 // incompressible value bytes
	hist        histogram.Histogram
	prog        *progress.Line
	userBytes   int64       // key and value bytes the write workloads wrote
	interrupted atomic.Bool // set on SIGINT; workloads stop early
}

func runBench(args []string, stdout, stderr io.Writer) int {
	c := newCommand("bench", "[--dir DIR] [--keys N] [--workloads LIST] [flags]",
		"Runs workloads against a store and prints one row per workload: ops, seconds, ops/s,\n"+
			"MB/s (10^6 bytes of keys and values), and latency percentiles (per operation, or per\n"+
			"batch with --batch). Then one line on the engine: levels, flushes, compactions,\n"+
			"write amplification ((WAL + flush + compaction output bytes) / user bytes) and size.\n"+
			"\n"+
			"Workloads: fillseq and fillrandom write every key once (in key order, in a seeded\n"+
			"random order); overwrite writes --keys random keys; readrandom reads --keys random\n"+
			"keys and counts misses (an error after a fill in the same run); readseq (or scan)\n"+
			"iterates over everything. Keys are --key-size decimal digits, values seeded random\n"+
			"bytes. Without --dir the store lives in a temporary directory removed afterwards;\n"+
			"a --dir that holds a store is opened and written over.",
		stdout, stderr)
	dir := c.fs.String("dir", "", "store `directory` (default: a temporary one, removed afterwards)")
	keys := c.fs.Int64("keys", 1_000_000, "number of keys (and of operations per workload)")
	valueSize := c.fs.Int("value-size", 100, "value size in `bytes`")
	keySize := c.fs.Int("key-size", 16, "key size in `bytes` (decimal digits)")
	sync := c.fs.Bool("sync", false, "fsync every write")
	batch := c.fs.Int("batch", 1, "entries per write batch")
	seed := c.fs.Uint64("seed", 1, "seed of the key orders and the values")
	reg := registry.Builtin()
	names := func(kind, def string) string {
		return fmt.Sprintf("one of %s; default %s", strings.Join(reg.Names(kind), ", "), def)
	}
	memtable := c.fs.String("memtable", "", "memtable `name`: "+names(registry.KindMemtable, reg.Defaults().Memtable))
	compaction := c.fs.String("compaction", "", "compaction policy `name`: "+names(registry.KindCompaction, reg.Defaults().Compaction))
	valueStore := c.fs.String("value-store", "", "value store `name`: "+names(registry.KindValueStore, reg.Defaults().ValueStore))
	memtableSize := c.fs.Int64("memtable-size", 0, "memtable size in `bytes` (default: the engine's)")
	segmentSize := c.fs.Int64("memtable-segment-size", 0, "memtable segment size in `bytes`, -1 for unsegmented memtables (default: the engine's)")
	workloads := c.fs.String("workloads", "fillrandom,readrandom,scan", "comma-separated `list` of "+strings.Join(workloadNames, ", "))
	cpuProfile := c.fs.String("cpuprofile", "", "write a CPU profile of the workloads to `file`")
	prog := c.fs.Bool("progress", false, "draw a progress line on stderr even when it is not a terminal")
	matrix := addMatrixFlags(c)
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	cfg := benchConfig{
		dir: *dir, keys: *keys, keySize: *keySize, valueSize: *valueSize, batch: *batch,
		sync: *sync, seed: *seed, memtableSize: *memtableSize, segmentSize: *segmentSize,
		components: registry.Config{Memtable: *memtable, Compaction: *compaction, ValueStore: *valueStore},
		progress:   *prog || progress.IsTerminal(stderr),
		cpuProfile: *cpuProfile,
	}
	switch {
	case cfg.keys < 1:
		return c.fail("--keys must be at least 1")
	case cfg.keySize < 1:
		return c.fail("--key-size must be at least 1")
	case cfg.keys > maxKeys(cfg.keySize):
		return c.fail("--keys %d do not fit in %d-digit keys; raise --key-size", cfg.keys, cfg.keySize)
	case cfg.valueSize < 0:
		return c.fail("--value-size must not be negative")
	case cfg.batch < 1:
		return c.fail("--batch must be at least 1")
	case cfg.memtableSize < 0:
		return c.fail("--memtable-size must not be negative")
	}
	for _, w := range strings.Split(*workloads, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if !slices.Contains(workloadNames, w) {
			return c.fail("unknown workload %q; valid: %s", w, strings.Join(workloadNames, ", "))
		}
		cfg.workloads = append(cfg.workloads, w)
	}
	if len(cfg.workloads) == 0 {
		return c.fail("--workloads names no workload")
	}
	if *matrix.enabled {
		return runMatrix(c, cfg, matrix)
	}
	return benchMain(c, cfg)
}

// benchMain sets up the store, runs the workloads and prints the report.
func benchMain(c *command, cfg benchConfig) int {
	stdout, stderr := c.stdout, c.stderr
	opts := openOptions(stderr)
	comps, err := registry.Builtin().Resolve(cfg.components, opts)
	if err != nil {
		return c.errorf("%v", err)
	}
	cfg.components = comps
	if cfg.memtableSize > 0 {
		opts.MemtableSize = cfg.memtableSize
	}
	opts.MemtableSegmentSize = cfg.segmentSize
	temporary := cfg.dir == ""
	if temporary {
		d, err := os.MkdirTemp("", "nokv-bench-")
		if err != nil {
			return c.errorf("%v", err)
		}
		defer os.RemoveAll(d)
		cfg.dir = d
	}
	fresh := temporary || requireStore(cfg.dir) != nil
	db, err := nokv.Open(cfg.dir, opts)
	if err != nil {
		return c.errorf("%v", err)
	}
	b := &bench{cfg: cfg, db: db, prog: &progress.Line{W: stderr, Enabled: cfg.progress}}
	var valueSeed [32]byte
	copy(valueSeed[:], fmt.Sprintf("nokv-bench-values-%d", cfg.seed))
	b.values = rand.NewChaCha8(valueSeed)

	// The first Ctrl-C stops the workloads, and the store is still closed
	// and a temporary directory removed; a second one kills the process.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	stopSig := make(chan struct{})
	defer close(stopSig)
	go func() {
		select {
		case <-sigs:
			b.interrupted.Store(true)
			signal.Stop(sigs)
		case <-stopSig:
		}
	}()

	where := cfg.dir
	if temporary {
		where += " (temporary)"
	}
	fmt.Fprintf(stdout, "nokv bench: %d keys of %d bytes, values of %d bytes, batch %d, sync %v, seed %d\n",
		cfg.keys, cfg.keySize, cfg.valueSize, cfg.batch, cfg.sync, cfg.seed)
	fmt.Fprintf(stdout, "engine: %s, dir %s\n\n", cfg.components, where)
	fmt.Fprintf(stdout, rowFormat, "workload", "ops", "seconds", "ops/s", "MB/s", "p50", "p99", "p99.9", "notes")

	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return c.errorf("%v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return c.errorf("%v", err)
		}
		defer pprof.StopCPUProfile()
	}
	code := exitOK
	filled := false
	for i, name := range cfg.workloads {
		b.hist.Reset()
		res, err := b.runWorkload(name, i)
		if err != nil {
			code = c.errorf("%v", err)
			break
		}
		b.printRow(stdout, res)
		switch name {
		case wlFillSeq, wlFillRandom:
			filled = filled || !res.partial
		case wlReadRandom:
			if filled && res.misses > 0 {
				code = c.errorf("readrandom missed %d keys a fill wrote in this run: the store lost data", res.misses)
			}
		case wlReadSeq, wlScan:
			if filled && fresh && !res.partial && res.ops != cfg.keys {
				code = c.errorf("%s found %d entries, but the store should hold exactly %d keys", name, res.ops, cfg.keys)
			}
		}
		if res.partial {
			code = c.errorf("interrupted")
			break
		}
	}
	if cfg.batch > 1 {
		fmt.Fprintf(stdout, "(write latencies are per batch of %d entries)\n", cfg.batch)
	}

	st := db.Stats()
	if err := db.Close(); err != nil {
		code = c.errorf("close: %v", err)
	}
	du, err := diskUsage(cfg.dir)
	if err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, engineSummary(st, b.userBytes, du))
	return code
}

// rowFormat lays out one row of the results table.
const rowFormat = "%-11s %10s %8s %11s %8s %9s %9s %9s  %s\n"

// printRow prints res as a row of the results table.
func (b *bench) printRow(w io.Writer, res result) {
	secs := res.elapsed.Seconds()
	var rate, mbps float64
	if secs > 0 {
		rate = float64(res.ops) / secs
		mbps = float64(res.bytes) / 1e6 / secs
	}
	var notes []string
	switch res.name {
	case wlReadRandom:
		notes = append(notes, fmt.Sprintf("misses=%d", res.misses))
	case wlReadSeq, wlScan:
		notes = append(notes, fmt.Sprintf("entries=%d", res.ops))
	}
	if res.partial {
		notes = append(notes, "interrupted")
	}
	row := fmt.Sprintf(rowFormat, res.name,
		fmt.Sprint(res.ops), fmt.Sprintf("%.3f", secs), fmt.Sprintf("%.0f", rate), fmt.Sprintf("%.2f", mbps),
		fmtLatency(b.hist.Quantile(0.50)), fmtLatency(b.hist.Quantile(0.99)), fmtLatency(b.hist.Quantile(0.999)),
		strings.Join(notes, " "))
	io.WriteString(w, strings.TrimRight(row, " \n")+"\n")
}

// engineSummary is the line on the engine after the table. The counters of
// st cover this run only (since Open).
func engineSummary(st nokv.Stats, userBytes int64, du usage) string {
	var levels []string
	for _, l := range st.Levels {
		switch {
		case l.IngestTables > 0: // main run + ingest buffer
			levels = append(levels, fmt.Sprintf("L%d=%d+%d(%d runs)/%s", l.Level, l.Tables, l.IngestTables, l.IngestRuns, humanBytes(l.Bytes+l.IngestBytes)))
		case l.Tables > 0:
			levels = append(levels, fmt.Sprintf("L%d=%d/%s", l.Level, l.Tables, humanBytes(l.Bytes)))
		}
	}
	shape := "empty"
	if len(levels) > 0 {
		shape = strings.Join(levels, " ")
	}
	wamp := "n/a (no writes)"
	if userBytes > 0 {
		wamp = fmt.Sprintf("%.2f", float64(st.WALBytes+st.ValueLogWritten+st.FlushBytes+st.CompactionBytesOut)/float64(userBytes))
	}
	s := fmt.Sprintf("levels: %s; memtables %d (%s); flushes %d; compactions %d (+%d moves); delays %d (%v); stalls %d (%v); read-amp %d; write-amp %s; disk %s",
		shape, st.Memtables, humanBytes(st.MemtableBytes), st.Flushes, st.Compactions, st.TrivialMoves,
		st.WriteDelays, st.WriteDelayTime.Round(1e6), st.WriteStalls, st.WriteStallTime.Round(1e6), st.ReadAmp, wamp, humanBytes(du.total))
	if st.BackgroundError != "" {
		s += "; background error: " + st.BackgroundError
	}
	return s
}
