package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// report turns the runs' results into Markdown tables: one figure per
// engine per workload, the median over repetitions, with the spread where
// it matters.
type report struct {
	cfg     config
	env     environment
	results []chainResult
}

func buildReport(cfg config, env environment, results []chainResult) *report {
	return &report{cfg: cfg, env: env, results: results}
}

// rows returns the successful rows of workload by engine, over repetitions.
func (r *report) rows(workload, engine string) []*wlResult {
	var out []*wlResult
	for i := range r.results {
		c := &r.results[i]
		if c.Engine != engine || c.Error != "" {
			continue
		}
		for j := range c.Workloads {
			if c.Workloads[j].Name == workload {
				out = append(out, &c.Workloads[j])
			}
		}
	}
	return out
}

// runs returns the successful runs of chain by engine.
func (r *report) runs(chain, engine string) []*chainResult {
	var out []*chainResult
	for i := range r.results {
		c := &r.results[i]
		if c.Engine == engine && c.Chain == chain && c.Error == "" {
			out = append(out, c)
		}
	}
	return out
}

// stat is the median of a figure over repetitions, and its range.
type stat struct {
	med, lo, hi float64
	n           int
}

func statOf(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med: m, lo: s[0], hi: s[len(s)-1], n: len(s)}
}

// spread is half the range as a fraction of the median.
func (s stat) spread() float64 {
	if s.med == 0 {
		return 0
	}
	return (s.hi - s.lo) / 2 / s.med
}

func rowStat(rows []*wlResult, f func(*wlResult) float64) stat {
	var xs []float64
	for _, w := range rows {
		xs = append(xs, f(w))
	}
	return statOf(xs)
}

func runStat(runs []*chainResult, f func(*chainResult) float64) stat {
	var xs []float64
	for _, c := range runs {
		xs = append(xs, f(c))
	}
	return statOf(xs)
}

// fmtRate renders an operation rate compactly: 950, 9.50k, 95.0k, 950k, 9.50M.
func fmtRate(x float64) string {
	switch {
	case x <= 0:
		return "-"
	case x < 1e3:
		return fmt.Sprintf("%.0f", x)
	case x < 1e6:
		return sig3(x/1e3) + "k"
	default:
		return sig3(x/1e6) + "M"
	}
}

// fmtMiB renders bytes in MiB.
func fmtMiB(b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", b/(1<<20))
}

func fmtRatio(x float64) string {
	if x <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", x)
}

// workloads lists every row name of the chosen chains, in order.
func (r *report) workloads() []string {
	var out []string
	for _, c := range r.cfg.chains {
		out = append(out, c.workloads...)
	}
	return out
}

// peers returns the engines that are not NoKV (in any configuration), and
// whether NoKV at its defaults is in the run.
func (r *report) peers() ([]engine, bool) {
	var out []engine
	hasNoKV := false
	for _, e := range r.cfg.engines {
		switch {
		case e.name == "nokv":
			hasNoKV = true
		case !isNoKV(e):
			out = append(out, e)
		}
	}
	return out, hasNoKV
}

func isNoKV(e engine) bool { return strings.HasPrefix(e.name, "nokv") }

// table writes a Markdown table with one row per key and one column per
// engine; cell returns the text of a cell and the value compared across
// engines (0: none). With a NoKV column and peers, a last column gives
// NoKV's value over the best peer's (higher is better unless lowerBetter).
func (r *report) table(b *strings.Builder, first string, keys []string, lowerBetter bool,
	cell func(key string, e engine) (string, float64)) {
	peers, hasNoKV := r.peers()
	ratio := hasNoKV && len(peers) > 0
	b.WriteString("| " + first)
	for _, e := range r.cfg.engines {
		b.WriteString(" | " + e.title)
	}
	if ratio {
		b.WriteString(" | NoKV ÷ best peer")
	}
	b.WriteString(" |\n|---")
	for range r.cfg.engines {
		b.WriteString("|--:")
	}
	if ratio {
		b.WriteString("|--:")
	}
	b.WriteString("|\n")
	for _, k := range keys {
		b.WriteString("| " + k)
		var mine, best float64
		for _, e := range r.cfg.engines {
			text, v := cell(k, e)
			b.WriteString(" | " + text)
			switch {
			case e.name == "nokv":
				mine = v
			case v <= 0, isNoKV(e):
			case best == 0, lowerBetter && v < best, !lowerBetter && v > best:
				best = v
			}
		}
		if ratio {
			cellRatio := "-"
			if mine > 0 && best > 0 {
				cellRatio = fmtRatio(mine / best)
			}
			b.WriteString(" | " + cellRatio)
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\n")
}

// markdown renders the whole report.
func (r *report) markdown() string {
	var b strings.Builder
	s := r.cfg.size
	fmt.Fprintf(&b, "# NoKV against Pebble and Badger: %s run\n\n", s.Name)
	fmt.Fprintf(&b, "Command: `%s` (in `bench/`). Seed %d, %d repetitions, medians shown.\n\n",
		strings.TrimSpace(r.cfg.command), r.cfg.seed, s.Reps)
	e := r.env
	fmt.Fprintf(&b, "Machine: %s, %d cores (GOMAXPROCS %d), %s RAM, Linux %s, %s. NoKV at %s. %s; took %.1f min; "+
		"load average (1/5/15 min) %s before, %s after.\n\n",
		e.CPU, e.Cores, e.MaxProcs, e.MemTotal, e.Kernel, e.Go, e.NoKV, e.Date, e.Minutes, e.LoadStart, e.LoadEnd)

	wls := r.workloads()
	var chainNames []string
	for _, c := range r.cfg.chains {
		chainNames = append(chainNames, c.name)
	}
	b.WriteString("## Throughput\n\nOperations per second, median of the repetitions; ± is half the range of the " +
		"repetitions as a share of the median. Last column: NoKV over the best peer (above 1: NoKV is faster).\n\n")
	r.table(&b, "workload", wls, false, func(w string, e engine) (string, float64) {
		rows := r.rows(w, e.name)
		if len(rows) == 0 {
			return r.missing(w, e), 0
		}
		st := rowStat(rows, (*wlResult).opsPerSec)
		text := fmtRate(st.med)
		if st.n > 1 {
			text += fmt.Sprintf(" ±%.0f%%", 100*st.spread())
		}
		return text, st.med
	})

	b.WriteString("## CPU time per operation\n\nCPU time (user and system) of the whole process while the workload ran " +
		"(its goroutines and the engine's background work) over its operations, median. It depends far less than " +
		"wall time on what else the machine runs, so it is the figure to trust on a busy machine. Last column: " +
		"NoKV over the best peer (below 1: NoKV spends less).\n\n")
	r.table(&b, "workload", wls, true, func(w string, e engine) (string, float64) {
		rows := r.rows(w, e.name)
		if len(rows) == 0 {
			return r.missing(w, e), 0
		}
		c := rowStat(rows, (*wlResult).cpuPerOp).med
		return fmtDuration(c), c
	})

	b.WriteString("## Latency\n\np50 / p99 / p99.9 of one operation (a YCSB E operation is a whole scan; " +
		"scan rows have none), medians of the repetitions. Last column: NoKV's p99 over the best peer's (below 1: NoKV is faster).\n\n")
	var latWls []string
	for _, w := range wls {
		if w != "scan" {
			latWls = append(latWls, w)
		}
	}
	r.table(&b, "workload", latWls, true, func(w string, e engine) (string, float64) {
		rows := r.rows(w, e.name)
		if len(rows) == 0 {
			return r.missing(w, e), 0
		}
		p50 := rowStat(rows, func(x *wlResult) float64 { return x.P50 }).med
		p99 := rowStat(rows, func(x *wlResult) float64 { return x.P99 }).med
		p999 := rowStat(rows, func(x *wlResult) float64 { return x.P999 }).med
		return fmtDuration(p50) + " / " + fmtDuration(p99) + " / " + fmtDuration(p999), p99
	})

	var writing []string
	for _, w := range wls {
		for _, en := range r.cfg.engines {
			if rows := r.rows(w, en.name); len(rows) > 0 && rows[0].UserWrite > 0 {
				writing = append(writing, w)
				break
			}
		}
	}
	b.WriteString("## Write amplification\n\nBytes the process wrote (`write_bytes` of /proc/self/io: charged when a page " +
		"is dirtied, by write(2) or through mmap) over the key and value bytes the workload wrote; in brackets the same " +
		"with `wchar` (bytes passed to write system calls, which misses mmap writes: Badger's value log and memtable " +
		"logs, NoKV's WAL where it maps its segments). A writing workload is charged from its start until the next writing workload starts or the store is " +
		"closed at the end of its chain, so background flushes and compactions it caused count. Last column: NoKV over " +
		"the best peer by write_bytes (below 1: NoKV writes less).\n\n")
	r.table(&b, "workload", writing, true, func(w string, e engine) (string, float64) {
		rows := r.rows(w, e.name)
		if len(rows) == 0 {
			return r.missing(w, e), 0
		}
		wa := rowStat(rows, (*wlResult).wamp).med
		wc := rowStat(rows, (*wlResult).wampWChar).med
		return fmt.Sprintf("%.2f (%.2f)", wa, wc), wa
	})

	b.WriteString("Whole chains: write_bytes (wchar) from before the first open to after the final close, over all " +
		"the key and value bytes the chain's workloads wrote.\n\n")
	r.table(&b, "chain", chainNames, true, func(c string, e engine) (string, float64) {
		runs := r.runs(c, e.name)
		if len(runs) == 0 {
			return "fail", 0
		}
		wa := runStat(runs, (*chainResult).wamp).med
		return fmt.Sprintf("%.2f (%.2f)", wa, runStat(runs, (*chainResult).wampWChar).med), wa
	})

	b.WriteString("## Space amplification\n\nAllocated disk blocks of the store directory (what `du` reports) after the " +
		"chain's final close, over the key and value bytes of the live keys. Last column: NoKV over the best peer " +
		"(below 1: NoKV uses less).\n\n")
	r.table(&b, "chain", chainNames, true, func(c string, e engine) (string, float64) {
		runs := r.runs(c, e.name)
		if len(runs) == 0 {
			return "fail", 0
		}
		st := runStat(runs, (*chainResult).samp)
		return fmt.Sprintf("%.2f", st.med), st.med
	})

	r.writeSummary(&b, writing)

	b.WriteString("## Memory\n\nPeak resident set of the whole process (VmHWM, MiB) / peak anonymous resident set " +
		"(RssAnon sampled every 100 ms, MiB), per chain, medians. The harness itself accounts for a few MiB of both. " +
		"Last column: NoKV over the best peer by VmHWM (below 1: NoKV uses less).\n\n")
	r.table(&b, "chain", chainNames, true, func(c string, e engine) (string, float64) {
		runs := r.runs(c, e.name)
		if len(runs) == 0 {
			return "fail", 0
		}
		hwm := runStat(runs, func(x *chainResult) float64 { return float64(x.VMHWM) }).med
		anon := runStat(runs, func(x *chainResult) float64 { return float64(x.RSSAnonPeak) }).med
		return fmtMiB(hwm) + " / " + fmtMiB(anon), hwm
	})

	r.allFigures(&b)
	r.describe(&b)
	r.failures(&b)
	return b.String()
}

// missing is the text of a cell with no successful row.
func (r *report) missing(w string, e engine) string {
	for _, c := range r.results {
		if c.Engine == e.name && c.Error != "" && slices.ContainsFunc(r.cfg.chains, func(ch chain) bool {
			return ch.name == c.Chain && slices.Contains(ch.workloads, w)
		}) {
			return "fail"
		}
	}
	return "-"
}

// writeSummary writes, for every writing workload and engine, the figures
// that trade against each other side by side: throughput, write and space
// amplification, and the time writes were stopped or slowed down.
func (r *report) writeSummary(b *strings.Builder, writing []string) {
	b.WriteString("## Writes side by side\n\nPer writing workload, medians: ops/s (for readwhilewriting, its reads), " +
		"write amplification by write_bytes (wchar), the space amplification of its chain after the final close, " +
		"the time the engine stopped writes during the workload (write stalls: memtables waiting for a flush, " +
		"too many L0 tables or a hard compaction-debt limit), and the time it slowed them down first (NoKV's " +
		"write throttling), each in seconds and as a share of the workload's wall time. The stall time is the " +
		"engine's, not summed over writers. n/a: the engine does not report it.\n\n")
	b.WriteString("| workload | engine | ops/s | W-amp | S-amp (chain) | stalled | delayed |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
	for _, w := range writing {
		ch := r.chainOf(w)
		for _, e := range r.cfg.engines {
			rows := r.rows(w, e.name)
			if len(rows) == 0 {
				fmt.Fprintf(b, "| %s | %s | %s | | | | |\n", w, e.title, r.missing(w, e))
				continue
			}
			med := func(f func(*wlResult) float64) float64 { return rowStat(rows, f).med }
			wamp := fmt.Sprintf("%.2f (%.2f)", med((*wlResult).wamp), med((*wlResult).wampWChar))
			samp := "-"
			if runs := r.runs(ch, e.name); len(runs) > 0 {
				samp = fmt.Sprintf("%.2f", runStat(runs, (*chainResult).samp).med)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", w, e.title, fmtRate(med((*wlResult).opsPerSec)),
				wamp, samp,
				fmtWaited(rows, func(x *wlResult) (*float64, *float64) { return x.StallSeconds, x.StallPercent }),
				fmtWaited(rows, func(x *wlResult) (*float64, *float64) { return x.DelaySeconds, x.DelayPercent }))
		}
	}
	b.WriteString("\n")
}

// fmtWaited renders the median of a waited time over rows as seconds and
// percent of the workload's time, or n/a when a row lacks it.
func fmtWaited(rows []*wlResult, f func(*wlResult) (sec, pct *float64)) string {
	var secs, pcts []float64
	for _, w := range rows {
		s, p := f(w)
		if s == nil || p == nil {
			return "n/a"
		}
		secs, pcts = append(secs, *s), append(pcts, *p)
	}
	return fmt.Sprintf("%.3f s (%.1f%%)", statOf(secs).med, statOf(pcts).med)
}

// chainOf returns the name of the chosen chain that produces workload w.
func (r *report) chainOf(w string) string {
	for _, c := range r.cfg.chains {
		if slices.Contains(c.workloads, w) {
			return c.name
		}
	}
	return ""
}

// allFigures writes the long table: every figure of every workload and
// engine.
func (r *report) allFigures(b *strings.Builder) {
	b.WriteString("## All figures\n\nMedians; ops/s with the range of the repetitions. W-amp by write_bytes (wchar).\n\n")
	b.WriteString("| workload | engine | ops/s | range | MB/s | CPU/op | p50 | p99 | p99.9 | W-amp | notes |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, w := range r.workloads() {
		for _, e := range r.cfg.engines {
			rows := r.rows(w, e.name)
			if len(rows) == 0 {
				fmt.Fprintf(b, "| %s | %s | %s | | | | | | | | |\n", w, e.title, r.missing(w, e))
				continue
			}
			ops := rowStat(rows, (*wlResult).opsPerSec)
			med := func(f func(*wlResult) float64) float64 { return rowStat(rows, f).med }
			wamp := "-"
			if rows[0].UserWrite > 0 {
				wamp = fmt.Sprintf("%.2f (%.2f)", med((*wlResult).wamp), med((*wlResult).wampWChar))
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s–%s | %.1f | %s | %s | %s | %s | %s | %s |\n", w, e.title,
				fmtRate(ops.med), fmtRate(ops.lo), fmtRate(ops.hi), med((*wlResult).mbPerSec), fmtDuration(med((*wlResult).cpuPerOp)),
				fmtDuration(med(func(x *wlResult) float64 { return x.P50 })),
				fmtDuration(med(func(x *wlResult) float64 { return x.P99 })),
				fmtDuration(med(func(x *wlResult) float64 { return x.P999 })),
				wamp, rows[len(rows)/2].Notes)
		}
	}
	b.WriteString("\n")
}

// describe writes what the chains do and how each engine was configured.
func (r *report) describe(b *strings.Builder) {
	b.WriteString("## Workloads\n\nEach chain runs in a fresh process and a fresh directory; its workloads run in " +
		"order on one store. Keys are 16 decimal digits (YCSB: `user` and 16 hex digits); values are seeded random " +
		"bytes, incompressible, the same for every engine. Writes are single-entry batches.\n\n")
	for _, c := range r.cfg.chains {
		sync := ""
		if c.sync {
			sync = " Synced."
		}
		fmt.Fprintf(b, "- **%s**: %s.%s\n", c.name, c.about(r.cfg.size), sync)
	}
	b.WriteString("\n## Engines\n\nThe exact options of every engine are in options.md next to this file.\n\n")
	for _, e := range r.cfg.engines {
		fmt.Fprintf(b, "- **%s** (`%s`): %s.\n", e.title, e.name, e.about)
	}
	b.WriteString("\n")
}

// failures lists the runs that failed.
func (r *report) failures(b *strings.Builder) {
	var lines []string
	for _, c := range r.results {
		if c.Error != "" {
			lines = append(lines, fmt.Sprintf("- rep %d, %s, %s: %s", c.Rep+1, c.Chain, c.Engine, c.Error))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("## Failed runs\n\n" + strings.Join(lines, "\n") + "\n\n")
}

// optionsMarkdown renders the exact options of every engine, per chain
// where they differ (Badger opens synced chains with SyncWrites).
func (r *report) optionsMarkdown() string {
	var b strings.Builder
	b.WriteString("# Options each engine ran with\n\nAs the engine reported or held them after opening (Pebble: " +
		"`Options.String()`; NoKV and Badger: every exported field of the options struct). Store directories differ " +
		"per run.\n\n")
	for _, e := range r.cfg.engines {
		fmt.Fprintf(&b, "## %s (`%s`)\n\n%s.\n\n", e.title, e.name, e.about)
		var seen []string
		for _, c := range r.results {
			if c.Engine != e.name {
				continue
			}
			for _, o := range c.Options {
				if slices.Contains(seen, o) {
					continue
				}
				seen = append(seen, o)
				var chainsUsing []string
				for _, c2 := range r.results {
					if c2.Engine == e.name && slices.Contains(c2.Options, o) && !slices.Contains(chainsUsing, c2.Chain) {
						chainsUsing = append(chainsUsing, c2.Chain)
					}
				}
				fmt.Fprintf(&b, "Chains: %s\n\n```\n%s```\n\n", strings.Join(chainsUsing, ", "), o)
			}
		}
	}
	return b.String()
}

// maskDir replaces the per-run store directory in an options text with
// DIR, so that runs with the same options render the same.
func maskDir(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "nokv-bench-"); i >= 0 {
			j := strings.LastIndexAny(line[:i], " =")
			if j >= 0 {
				line = line[:j+1] + "DIR"
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
