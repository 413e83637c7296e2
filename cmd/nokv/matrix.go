package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nokv/nokv"
	"github.com/nokv/nokv/internal/progress"
	"github.com/nokv/nokv/registry"
)

// matrixFlags are the flags of bench --matrix.
type matrixFlags struct {
	enabled *bool
	out     *string
	reps    *int
}

// addMatrixFlags registers the --matrix flags on the bench command.
func addMatrixFlags(c *command) *matrixFlags {
	return &matrixFlags{
		enabled: c.fs.Bool("matrix", false, "run the workloads over every component combination the registry lists and "+
			"write matrix.md (a table) and matrix.svg (throughput against write amplification) to --matrix-out"),
		out:  c.fs.String("matrix-out", ".", "`directory` for matrix.md and matrix.svg"),
		reps: c.fs.Int("matrix-reps", 1, "repetitions of every combination (medians are reported)"),
	}
}

// matrixCell is one workload of one combination in one repetition.
type matrixCell struct {
	ops            int64
	seconds        float64
	mbps           float64
	p50, p99, p999 int64
}

// matrixRun is one combination in one repetition.
type matrixRun struct {
	combo registry.Config
	cells map[string]matrixCell
	// Write amplification over the whole run (open to close): from
	// /proc/self/io write_bytes (every file) and from the engine's counters
	// (WAL, value log, flush and compaction output), the same figure as the
	// bench summary line.
	wampIO, wampEngine float64
	ioOK               bool
	disk               int64
	userBytes          int64
}

// runMatrix runs cfg's workloads once per registry combination (and per
// repetition), each in a fresh directory, alternating the order of the
// combinations between repetitions, and writes the table and the chart.
// Runs share this process: a combination inherits the Go heap of the ones
// before (each starts after a GC that returns memory to the OS).
func runMatrix(c *command, cfg benchConfig, mf *matrixFlags) int {
	if cfg.components != (registry.Config{}) {
		return c.fail("--matrix runs every combination; drop --memtable, --compaction and --value-store")
	}
	if cfg.cpuProfile != "" {
		return c.fail("--cpuprofile profiles one store; run it without --matrix, naming the components")
	}
	if *mf.reps < 1 {
		return c.fail("--matrix-reps must be at least 1")
	}
	if cfg.dir != "" {
		if _, err := os.Stat(cfg.dir); err == nil {
			return c.fail("--dir %s exists; --matrix wants a fresh directory to create one store per combination in", cfg.dir)
		}
	}
	reg := registry.Builtin()
	combos := reg.Combinations()
	if err := os.MkdirAll(*mf.out, 0o755); err != nil {
		return c.errorf("%v", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	fmt.Fprintf(c.stderr, "nokv bench --matrix: %d combinations × %d repetitions; workloads %s, %d keys, %d-byte values\n",
		len(combos), *mf.reps, strings.Join(cfg.workloads, ","), cfg.keys, cfg.valueSize)
	var runs []matrixRun
	loadBefore := loadAverage()
	start := time.Now()
	for rep := range *mf.reps {
		for k := range combos {
			combo := combos[(k+rep)%len(combos)]
			run, code := matrixOne(c, cfg, reg, combo, rep, sigs)
			if code != exitOK {
				return code
			}
			runs = append(runs, run)
			fmt.Fprintf(c.stderr, "[%d/%d] %s: done (elapsed %v)\n", len(runs), len(combos)**mf.reps,
				comboName(combo), time.Since(start).Round(time.Second))
		}
	}
	md := matrixMarkdown(cfg, combos, runs, *mf.reps)
	md += fmt.Sprintf("\nLoad average (1/5/15 min) %s before, %s after; %v in all. Throughput from a busy machine "+
		"is not comparable with a quiet one's.\n", loadBefore, loadAverage(), time.Since(start).Round(time.Second))
	svg := matrixSVG(cfg, combos, runs)
	for name, data := range map[string]string{"matrix.md": md, "matrix.svg": svg} {
		if err := os.WriteFile(filepath.Join(*mf.out, name), []byte(data), 0o644); err != nil {
			return c.errorf("%v", err)
		}
	}
	io.WriteString(c.stdout, md)
	fmt.Fprintf(c.stderr, "wrote %s and %s\n", filepath.Join(*mf.out, "matrix.md"), filepath.Join(*mf.out, "matrix.svg"))
	return exitOK
}

// comboName is "skiplist/leveled/inline".
func comboName(c registry.Config) string {
	return c.Memtable + "/" + c.Compaction + "/" + c.ValueStore
}

// matrixOne runs the workloads on one combination in a fresh directory.
func matrixOne(c *command, cfg benchConfig, reg *registry.Registry, combo registry.Config, rep int,
	sigs chan os.Signal) (matrixRun, int) {
	run := matrixRun{combo: combo, cells: map[string]matrixCell{}}
	runtime.GC()
	debug.FreeOSMemory()
	var dir string
	if cfg.dir != "" {
		dir = filepath.Join(cfg.dir, fmt.Sprintf("%s-%s-%s-%d", combo.Memtable, combo.Compaction, combo.ValueStore, rep))
	} else {
		d, err := os.MkdirTemp("", "nokv-matrix-")
		if err != nil {
			return run, c.errorf("%v", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	opts := openOptions(c.stderr)
	if _, err := reg.Resolve(combo, opts); err != nil {
		return run, c.errorf("%v", err)
	}
	if cfg.memtableSize > 0 {
		opts.MemtableSize = cfg.memtableSize
	}
	io0, ioOK0 := readProcWriteBytes()
	db, err := nokv.Open(dir, opts)
	if err != nil {
		return run, c.errorf("%s: %v", comboName(combo), err)
	}
	cfg.components = combo
	b := &bench{cfg: cfg, db: db, prog: &progress.Line{W: c.stderr, Enabled: cfg.progress}}
	var seed [32]byte
	copy(seed[:], fmt.Sprintf("nokv-bench-values-%d", cfg.seed))
	b.values = rand.NewChaCha8(seed) // the same values for every combination

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-sigs:
			b.interrupted.Store(true)
		case <-stop:
		}
	}()
	code := exitOK
	for i, name := range cfg.workloads {
		b.hist.Reset()
		res, err := b.runWorkload(name, i)
		if err != nil {
			code = c.errorf("%s: %v", comboName(combo), err)
			break
		}
		if res.partial {
			code = c.errorf("interrupted")
			break
		}
		cell := matrixCell{ops: res.ops, seconds: res.elapsed.Seconds(),
			p50: b.hist.Quantile(0.5), p99: b.hist.Quantile(0.99), p999: b.hist.Quantile(0.999)}
		if cell.seconds > 0 {
			cell.mbps = float64(res.bytes) / 1e6 / cell.seconds
		}
		run.cells[name] = cell
	}
	st := db.Stats()
	if err := db.Close(); err != nil && code == exitOK {
		code = c.errorf("%s: close: %v", comboName(combo), err)
	}
	if code != exitOK {
		return run, code
	}
	io1, ioOK1 := readProcWriteBytes()
	run.userBytes = b.userBytes
	if b.userBytes > 0 {
		run.wampEngine = float64(st.WALBytes+st.ValueLogWritten+st.FlushBytes+st.CompactionBytesOut) / float64(b.userBytes)
		run.ioOK = ioOK0 && ioOK1
		run.wampIO = float64(io1-io0) / float64(b.userBytes)
	}
	du, err := diskUsage(dir)
	if err != nil {
		return run, c.errorf("%v", err)
	}
	run.disk = du.total
	return run, exitOK
}

// readProcWriteBytes returns write_bytes of /proc/self/io: the bytes this
// process caused to be written to storage, charged when pages are dirtied,
// through write(2) or mmap. ok is false where /proc is missing.
func readProcWriteBytes() (int64, bool) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			var n int64
			if _, err := fmt.Sscan(v, &n); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// loadAverage returns the 1, 5 and 15 minute load averages from
// /proc/loadavg, or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// median returns the median of xs (0 if empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// matrixPoint is one combination's medians over its repetitions.
type matrixPoint struct {
	combo      registry.Config
	ops        map[string][]float64 // ops/s per workload, per repetition
	wamp       float64              // median write amplification (write_bytes when known)
	wampEngine float64
	disk       float64
	ioOK       bool
}

func matrixPoints(combos []registry.Config, runs []matrixRun) []matrixPoint {
	var pts []matrixPoint
	for _, combo := range combos {
		p := matrixPoint{combo: combo, ops: map[string][]float64{}, ioOK: true}
		var wio, weng, disk []float64
		for _, r := range runs {
			if r.combo != combo {
				continue
			}
			for name, cell := range r.cells {
				if cell.seconds > 0 {
					p.ops[name] = append(p.ops[name], float64(cell.ops)/cell.seconds)
				}
			}
			wio = append(wio, r.wampIO)
			weng = append(weng, r.wampEngine)
			disk = append(disk, float64(r.disk))
			p.ioOK = p.ioOK && r.ioOK
		}
		p.wampEngine, p.disk = median(weng), median(disk)
		p.wamp = p.wampEngine
		if p.ioOK {
			p.wamp = median(wio)
		}
		pts = append(pts, p)
	}
	return pts
}

// chartWorkload is the workload whose throughput the chart plots: the
// first that writes, else the first.
func chartWorkload(cfg benchConfig) string {
	for _, w := range cfg.workloads {
		if w == wlFillSeq || w == wlFillRandom || w == wlOverwrite {
			return w
		}
	}
	return cfg.workloads[0]
}

// matrixMarkdown renders one row per combination: ops/s of every workload
// (median, with the range when repeated), p99 of each, write
// amplification and disk use.
func matrixMarkdown(cfg benchConfig, combos []registry.Config, runs []matrixRun, reps int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# NoKV component matrix\n\n`nokv bench --matrix --keys %d --value-size %d --workloads %s --matrix-reps %d`: "+
		"%d keys of %d bytes, seed %d, %s, %d core(s), %s. Medians of %d repetition(s); ops/s with p99 latency below it.\n\n",
		cfg.keys, cfg.valueSize, strings.Join(cfg.workloads, ","), reps, cfg.keys, cfg.keySize, cfg.seed,
		runtime.Version(), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), reps)
	b.WriteString("| memtable | compaction | value store")
	for _, w := range cfg.workloads {
		b.WriteString(" | " + w + " ops/s")
	}
	b.WriteString(" | W-amp (write_bytes) | W-amp (engine) | disk |\n|---|---|---")
	for range cfg.workloads {
		b.WriteString("|--:")
	}
	b.WriteString("|--:|--:|--:|\n")
	for _, p := range matrixPoints(combos, runs) {
		fmt.Fprintf(&b, "| %s | %s | %s", p.combo.Memtable, p.combo.Compaction, p.combo.ValueStore)
		for _, w := range cfg.workloads {
			xs := p.ops[w]
			cell := fmt.Sprintf("%.0f", median(xs))
			if len(xs) > 1 {
				cell += fmt.Sprintf(" (%.0f–%.0f)", slices.Min(xs), slices.Max(xs))
			}
			var p99s []float64
			for _, r := range runs {
				if r.combo == p.combo {
					p99s = append(p99s, float64(r.cells[w].p99))
				}
			}
			cell += "<br>p99 " + fmtLatency(int64(median(p99s)))
			b.WriteString(" | " + cell)
		}
		wio := "n/a"
		if p.ioOK {
			wio = fmt.Sprintf("%.2f", p.wamp)
		}
		fmt.Fprintf(&b, " | %s | %.2f | %s |\n", wio, p.wampEngine, humanBytes(int64(p.disk)))
	}
	b.WriteString("\nW-amp (write_bytes): bytes this process caused to be written to storage (/proc/self/io, " +
		"open to close, every file; charged when a page is dirtied, so page-sized rewrites and files deleted " +
		"before write-back count) over the key and value bytes written. W-amp (engine): the engine's own " +
		"counters, (WAL + value log + flush + compaction output) / user bytes. Combinations run one after " +
		"another in one process, each in a fresh directory.\n")
	return b.String()
}

// matrixSVG draws write amplification (x) against the throughput of the
// chart workload (y), one numbered point per combination, with a legend
// from numbers to combinations on the right.
func matrixSVG(cfg benchConfig, combos []registry.Config, runs []matrixRun) string {
	const (
		w, h                     = 940, 480
		left, right, top, bottom = 80, 250, 50, 60
	)
	wl := chartWorkload(cfg)
	pts := matrixPoints(combos, runs)
	var maxX, maxY float64
	for _, p := range pts {
		maxX = max(maxX, p.wamp)
		maxY = max(maxY, median(p.ops[wl]))
	}
	xTicks, xMax := niceTicks(maxX)
	yTicks, yMax := niceTicks(maxY)
	px := func(x float64) float64 { return left + x/xMax*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - y/yMax*(h-top-bottom) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" text-anchor="middle">NoKV components: %s throughput against write amplification (%d keys, %d-byte values)</text>`+"\n",
		w/2, xmlEscape(wl), cfg.keys, cfg.valueSize)
	for _, t := range xTicks {
		x := px(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>`+"\n", x, top, x, h-bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, h-bottom+18, fmtTick(t))
	}
	for _, t := range yTicks {
		y := py(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", left, y, w-right, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, fmtTick(t))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">write amplification (bytes written / user bytes; lower is better)</text>`+"\n",
		(left+w-right)/2, h-18)
	fmt.Fprintf(&b, `<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">%s ops/s (higher is better)</text>`+"\n",
		(top+h-bottom)/2, (top+h-bottom)/2, xmlEscape(wl))
	for i, p := range pts {
		x, y := px(p.wamp), py(median(p.ops[wl]))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" fill-opacity="0.8"/>`+"\n", x, y, chartColor(i))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%d</text>`+"\n", x+7, y-5, chartColor(i), i+1)
		ly := top + 10 + 20*i
		fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="5" fill="%s"/>`+"\n", w-right+25, ly, chartColor(i))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%d  %s</text>`+"\n", w-right+37, ly+4, i+1, xmlEscape(comboName(p.combo)))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceTicks returns axis ticks from 0 covering maxV at a step of 1, 2 or 5
// times a power of ten, and the axis maximum (the last tick).
func niceTicks(maxV float64) ([]float64, float64) {
	if maxV <= 0 {
		maxV = 1
	}
	raw := maxV / 5
	pow := 1.0
	for pow*10 <= raw {
		pow *= 10
	}
	for pow > raw {
		pow /= 10
	}
	step := pow
	for _, m := range []float64{1, 2, 5, 10} {
		if pow*m >= raw {
			step = pow * m
			break
		}
	}
	var ticks []float64
	t := 0.0
	for ; t < maxV*1.05; t += step {
		ticks = append(ticks, t)
	}
	ticks = append(ticks, t)
	return ticks, t
}

// fmtTick renders an axis value: 1.5, 20, 300k, 1.2M.
func fmtTick(v float64) string {
	switch {
	case v >= 1e6:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v/1e6), "0"), ".") + "M"
	case v >= 1e3:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v/1e3), "0"), ".") + "k"
	case v == float64(int64(v)):
		return fmt.Sprintf("%d", int64(v))
	default:
		return strings.TrimRight(fmt.Sprintf("%.2f", v), "0")
	}
}

func chartColor(i int) string {
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}
	return colors[i%len(colors)]
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
