// Command bench runs the same workloads against NoKV, Pebble and Badger and
// writes a comparison: db_bench-style fills, reads, scans and synced writes,
// and YCSB A to F. Every run is a fresh process (the binary re-executes
// itself with -child) in a fresh directory; the engines take turns in every
// repetition, and the tables report medians with their spread.
//
//	CGO_ENABLED=0 go run . --size small              # a few minutes
//	CGO_ENABLED=0 go run . --size full --out ../docs/bench
//
// It lives in a Go module of its own so that NoKV's module never depends on
// its competitors. See docs/benchmarks.md for the method and the results.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nokv/nokv/internal/progress"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(runChild(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what the flags ask for.
type config struct {
	size     size
	engines  []engine
	chains   []chain
	seed     uint64
	out      string   // directory for results.md, results.json, options.md, profiles
	base     string   // parent of the store directories
	profile  []string // engine:workload pairs to profile in extra runs
	progress bool
	allowCgo bool
	command  string // the command line, for the report
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizeName := fs.String("size", "small", "`preset` of the amount of work: tiny (tests), small (minutes), full (the published table)")
	engineList := fs.String("engines", "all", "comma-separated `engines`: "+strings.Join(engineNames(engines()), ", ")+
		", and (only when named) "+strings.Join(engineNames(extraEngines()), ", "))
	keys1k := fs.Int64("keys-1k", 0, "override the preset's `count` of 1 KiB values in fillrandom-1k")
	keys16k := fs.Int64("keys-16k", 0, "override the preset's `count` of 16 KiB values in fillrandom-16k")
	chainList := fs.String("chains", "all", "comma-separated `chains`: "+strings.Join(allChainNames(), ", "))
	reps := fs.Int("reps", 0, "repetitions of every run (default: the size's, 3 for small and full)")
	seed := fs.Uint64("seed", 1, "seed of every key order and value")
	out := fs.String("out", "", "`directory` for results.md, results.json, options.md and profiles (default out/SIZE)")
	base := fs.String("dir", "", "`directory` under which each run gets a fresh store directory (default the system's temporary directory)")
	profile := fs.String("profile", "", "comma-separated `engine:workload` pairs (either may be *) to profile in one extra run each: CPU and allocation profiles go to OUT/profiles")
	prog := fs.Bool("progress", false, "draw the progress line even when stderr is not a terminal")
	allowCgo := fs.Bool("allow-cgo", false, "measure although the binary was built with cgo (Pebble then uses C malloc and C zstd)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: CGO_ENABLED=0 go run . [flags]\n\n"+
			"Runs identical workloads against NoKV, Pebble and Badger, each run in a fresh process\n"+
			"and directory, and writes a Markdown comparison (medians of --reps runs).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	sz, err := findSize(*sizeName)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if *keys1k > 0 {
		sz.Keys1K = *keys1k
	}
	if *keys16k > 0 {
		sz.Keys16K = *keys16k
	}
	if *reps > 0 {
		sz.Reps = *reps
	}
	engs, err := findEngines(*engineList)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	chs, err := findChains(*chainList)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	cfg := config{
		size: sz, engines: engs, chains: chs, seed: *seed, out: *out, base: *base,
		progress: *prog || progress.IsTerminal(stderr), allowCgo: *allowCgo,
		command: "CGO_ENABLED=0 go run . " + strings.Join(args, " "),
	}
	if cfg.out == "" {
		cfg.out = filepath.Join("out", sz.Name)
	}
	if *profile != "" {
		cfg.profile = strings.Split(*profile, ",")
	}
	if cgoEnabled && !cfg.allowCgo {
		fmt.Fprintf(stderr, "bench: built with cgo; run with CGO_ENABLED=0 so that every engine is pure Go (or pass --allow-cgo)\n")
		return 2
	}
	return benchMain(cfg, stdout, stderr)
}

// runSpec is one child run the parent plans.
type runSpec struct {
	rep    int
	chain  chain
	engine engine
}

// plan lists the runs: repetition by repetition, chain by chain, every
// engine once, the order rotated by one engine at each chain and each
// repetition so that no engine always runs first (on a machine just idle,
// or just after another engine's heavy write-back).
func plan(cfg config) []runSpec {
	var runs []runSpec
	for rep := range cfg.size.Reps {
		for ci, ch := range cfg.chains {
			n := len(cfg.engines)
			for k := range n {
				runs = append(runs, runSpec{rep: rep, chain: ch, engine: cfg.engines[(rep+ci+k)%n]})
			}
		}
	}
	return runs
}

func benchMain(cfg config, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	env := captureEnv()
	runs := plan(cfg)
	var results []chainResult
	failed := 0
	start := time.Now()
	for k, rs := range runs {
		label := fmt.Sprintf("[%d/%d] rep %d %s %s: ", k+1, len(runs), rs.rep+1, rs.chain.name, rs.engine.name)
		res := runOne(exe, cfg, rs, label, "", nil, stderr)
		if res.Error != "" {
			failed++
			fmt.Fprintf(stderr, "%sFAILED: %s\n", label, res.Error)
		}
		results = append(results, res)
		done := time.Since(start)
		eta := time.Duration(float64(done) / float64(k+1) * float64(len(runs)-k-1))
		fmt.Fprintf(stderr, "%s%.1fs (elapsed %v, about %v left)\n", label, res.Seconds,
			done.Round(time.Second), eta.Round(time.Second))
	}
	env.finish(time.Since(start))
	if len(cfg.profile) > 0 {
		profileRuns(exe, cfg, stderr)
	}
	rep := buildReport(cfg, env, results)
	md := rep.markdown()
	files := map[string][]byte{"results.md": []byte(md), "options.md": []byte(rep.optionsMarkdown())}
	if raw, err := resultsJSON(cfg, env, results); err == nil {
		files["results.json"] = raw
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(cfg.out, name), data, 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	io.WriteString(stdout, md)
	fmt.Fprintf(stderr, "bench: wrote %s (results.md, results.json, options.md)\n", cfg.out)
	if failed > 0 {
		fmt.Fprintf(stderr, "bench: %d of %d runs failed\n", failed, len(runs))
		return 1
	}
	return 0
}

// runOne runs one chain in a child process and returns its result (with
// Error set if the child failed).
func runOne(exe string, cfg config, rs runSpec, label, profileDir string, profile []string, stderr io.Writer) chainResult {
	fail := func(err error) chainResult {
		return chainResult{Engine: rs.engine.name, Chain: rs.chain.name, Rep: rs.rep, Error: err.Error()}
	}
	dir, err := os.MkdirTemp(cfg.base, "nokv-bench-"+rs.engine.name+"-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	spec := childSpec{
		Engine: rs.engine.name, Chain: rs.chain.name, Size: cfg.size, Seed: cfg.seed, Dir: dir, Rep: rs.rep,
		Progress: cfg.progress, Label: label, ProfileDir: profileDir, Profile: profile,
	}
	in, err := json.Marshal(spec)
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(exe, childFlag)
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	runErr := cmd.Run()
	var res chainResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return fail(fmt.Errorf("child: %v (result: %v)", runErr, err))
	}
	if runErr != nil && res.Error == "" {
		res.Error = runErr.Error()
	}
	return res
}

// profileRuns runs, once more and outside the measured repetitions, every
// (engine, chain) holding a workload that --profile names, with CPU and
// allocation profiles of those workloads written to OUT/profiles.
func profileRuns(exe string, cfg config, stderr io.Writer) {
	dir := filepath.Join(cfg.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return
	}
	for _, e := range cfg.engines {
		for _, ch := range cfg.chains {
			var names []string
			for _, w := range ch.workloads {
				for _, p := range cfg.profile {
					pe, pw, _ := strings.Cut(strings.TrimSpace(p), ":")
					if (pe == "*" || pe == e.name) && (pw == "*" || pw == w) {
						names = append(names, w)
						break
					}
				}
			}
			if len(names) == 0 {
				continue
			}
			label := fmt.Sprintf("[profile] %s %s: ", ch.name, e.name)
			res := runOne(exe, cfg, runSpec{chain: ch, engine: e}, label, dir, names, stderr)
			if res.Error != "" {
				fmt.Fprintf(stderr, "%sFAILED: %s\n", label, res.Error)
				continue
			}
			fmt.Fprintf(stderr, "%sprofiles of %s in %s\n", label, strings.Join(names, ", "), dir)
		}
	}
}

// resultsJSON renders the raw results: size, seed and machine, then one
// run per line. The options texts are left out (they are in options.md,
// once per engine; repeated per run they would make up most of the file).
func resultsJSON(cfg config, env environment, results []chainResult) ([]byte, error) {
	var b bytes.Buffer
	head, err := json.Marshal(struct {
		Size size        `json:"size"`
		Seed uint64      `json:"seed"`
		Env  environment `json:"environment"`
	}{cfg.size, cfg.seed, env})
	if err != nil {
		return nil, err
	}
	b.Write(head[:len(head)-1])
	b.WriteString(",\n\"results\": [\n")
	for i, r := range results {
		r.Options = nil
		line, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		b.Write(line)
		if i < len(results)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}
