package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/nokv/nokv/internal/progress"
)

// childFlag, as the first argument, makes the harness binary (or the test
// binary, see main_test.go) run one chain in this process: it reads a
// childSpec as JSON on stdin and writes a chainResult as JSON on stdout.
// The parent re-executes itself this way for every run, so no run inherits
// another's heap, caches, goroutines or page-cache accounting.
const childFlag = "-child"

// childSpec is what the parent asks of one child.
type childSpec struct {
	Engine string `json:"engine"` // engine name, as --engines takes it
	Chain  string `json:"chain"`  // chain name, as --chains takes it
	Size   size   `json:"size"`   // how much every workload does
	Seed   uint64 `json:"seed"`   // seed of every key order and value
	Dir    string `json:"dir"`    // fresh, empty directory for the store
	Rep    int    `json:"rep"`    // repetition, from 0
	// Progress draws a progress line on stderr, each line starting with
	// Label.
	Progress bool   `json:"progress"`
	Label    string `json:"label"`
	// ProfileDir, when set, receives CPU and allocation profiles of the
	// workloads named in Profile.
	ProfileDir string   `json:"profile_dir,omitempty"`
	Profile    []string `json:"profile,omitempty"`
}

// wlResult is one row: one workload of one run.
type wlResult struct {
	Name    string  `json:"name"`    // workload
	Ops     int64   `json:"ops"`     // operations done
	Bytes   int64   `json:"bytes"`   // key and value bytes written or read
	Seconds float64 `json:"seconds"` // wall time
	P50     float64 `json:"p50_ns"`  // latency percentiles of one operation
	P99     float64 `json:"p99_ns"`
	P999    float64 `json:"p999_ns"`
	// UserWrite is the key and value bytes the workload wrote; the other
	// counters cover its write-amplification window (see chainRun).
	UserWrite     int64  `json:"user_write_bytes"`
	WriteBytes    int64  `json:"write_bytes"`           // /proc/self/io write_bytes
	CancelledByte int64  `json:"cancelled_write_bytes"` // of those, never written back
	WChar         int64  `json:"wchar"`                 // bytes passed to write system calls
	Notes         string `json:"notes,omitempty"`       // operation counts and the like
	// CPUSeconds is the CPU time (user and system) of the whole process
	// while the workload ran: the workload's goroutines and the engine's
	// background work. Unlike wall time it barely depends on what else the
	// machine runs.
	CPUSeconds float64 `json:"cpu_seconds"`
	// StallSeconds is how long the engine stopped writes while a writing
	// workload ran (see stallTimer), and StallPercent that as a share of
	// the workload's wall time; DelaySeconds and DelayPercent the same for
	// writes it slowed down (delayTimer). Absent (n/a) for reading
	// workloads and where the engine cannot say.
	StallSeconds *float64 `json:"stall_seconds,omitempty"`
	StallPercent *float64 `json:"stall_percent,omitempty"`
	DelaySeconds *float64 `json:"delay_seconds,omitempty"`
	DelayPercent *float64 `json:"delay_percent,omitempty"`
}

// cpuPerOp is the CPU time per operation in nanoseconds.
func (w *wlResult) cpuPerOp() float64 {
	if w.Ops <= 0 {
		return 0
	}
	return w.CPUSeconds * 1e9 / float64(w.Ops)
}

// opsPerSec is the row's throughput.
func (w *wlResult) opsPerSec() float64 {
	if w.Seconds <= 0 {
		return 0
	}
	return float64(w.Ops) / w.Seconds
}

// mbPerSec is the row's user data rate in 10^6 bytes per second.
func (w *wlResult) mbPerSec() float64 {
	if w.Seconds <= 0 {
		return 0
	}
	return float64(w.Bytes) / 1e6 / w.Seconds
}

// wamp is write_bytes over user bytes; 0 when the row wrote nothing.
func (w *wlResult) wamp() float64 {
	if w.UserWrite <= 0 {
		return 0
	}
	return float64(w.WriteBytes) / float64(w.UserWrite)
}

// wampWChar is wchar over user bytes.
func (w *wlResult) wampWChar() float64 {
	if w.UserWrite <= 0 {
		return 0
	}
	return float64(w.WChar) / float64(w.UserWrite)
}

// chainResult is what a child reports.
type chainResult struct {
	Engine    string     `json:"engine"`    // engine name
	Chain     string     `json:"chain"`     // chain name
	Rep       int        `json:"rep"`       // repetition, from 0
	Workloads []wlResult `json:"workloads"` // one per workload run, in order
	Options   []string   `json:"options"`   // per open, the exact options text
	Seconds   float64    `json:"seconds"`   // wall time of the whole chain
	// CPUSeconds is the CPU time (user and system) of the whole chain.
	CPUSeconds float64 `json:"cpu_seconds"`
	// Memory and disk at the end of the chain (after the final close).
	VMHWM       int64 `json:"vm_hwm"`         // peak resident set
	RSSAnonPeak int64 `json:"rss_anon_peak"`  // peak anonymous resident set (sampled)
	DiskAlloc   int64 `json:"disk_allocated"` // allocated blocks of the store directory
	DiskSize    int64 `json:"disk_apparent"`  // sizes of its files
	LiveBytes   int64 `json:"live_bytes"`     // key and value bytes of the live keys
	ProcIO      bool  `json:"proc_io"`        // /proc/self/io was readable
	// The whole chain's writes, from before the first open to after the
	// final close, and the key and value bytes all its workloads wrote.
	WriteBytes int64 `json:"write_bytes"`
	WChar      int64 `json:"wchar"`
	UserWrite  int64 `json:"user_write_bytes"`
	// Error says why the chain failed; empty when it succeeded.
	Error string `json:"error,omitempty"`
}

// wamp is the whole chain's write_bytes over its user bytes.
func (c *chainResult) wamp() float64 {
	if c.UserWrite <= 0 {
		return 0
	}
	return float64(c.WriteBytes) / float64(c.UserWrite)
}

// wampWChar is the whole chain's wchar over its user bytes.
func (c *chainResult) wampWChar() float64 {
	if c.UserWrite <= 0 {
		return 0
	}
	return float64(c.WChar) / float64(c.UserWrite)
}

// samp is the space amplification: allocated disk bytes over live bytes.
func (c *chainResult) samp() float64 {
	if c.LiveBytes <= 0 {
		return 0
	}
	return float64(c.DiskAlloc) / float64(c.LiveBytes)
}

// chainRun is the state of one chain in the child.
//
// Write amplification is charged by window: a writing workload's window
// runs from its start until the next writing workload starts or the chain
// ends (after the final close), so the flushes and compactions a fill
// causes while later reads run, and what close and reopen write, count
// against the fill that caused them.
type chainRun struct {
	spec  childSpec
	size  size
	eng   engine
	chain chain
	st    store
	res   chainResult
	prog  *progress.Line

	win      int // index in res.Workloads of the open window; -1 if none
	winStart ioCounters
	cpuStart float64 // processCPU at the start of the running workload
	live     int64   // key and value bytes of the live keys

	// Stall and delay totals of the store at the start of the running
	// writing workload, if it reports them (stallTimer, delayTimer).
	stallStart, delayStart time.Duration
	stallOK, delayOK       bool
}

// runChild is the child side: spec in on r, result out on w.
func runChild(r io.Reader, w io.Writer, stderr io.Writer) int {
	var spec childSpec
	if err := json.NewDecoder(r).Decode(&spec); err != nil {
		fmt.Fprintf(stderr, "bench child: bad spec: %v\n", err)
		return 2
	}
	res := runChain(spec, stderr)
	if err := json.NewEncoder(w).Encode(res); err != nil {
		fmt.Fprintf(stderr, "bench child: %v\n", err)
		return 1
	}
	return 0
}

// runChain runs the chain the spec names and returns its result; a failure
// is reported in the result's Error.
func runChain(spec childSpec, stderr io.Writer) chainResult {
	res := chainResult{Engine: spec.Engine, Chain: spec.Chain, Rep: spec.Rep}
	engs, err := findEngines(spec.Engine)
	if err != nil || len(engs) != 1 {
		res.Error = fmt.Sprintf("engine %q: %v", spec.Engine, err)
		return res
	}
	ch, ok := findChain(spec.Chain)
	if !ok {
		res.Error = fmt.Sprintf("unknown chain %q", spec.Chain)
		return res
	}
	r := &chainRun{spec: spec, size: spec.Size, eng: engs[0], chain: ch, win: -1,
		prog: &progress.Line{W: stderr, Enabled: spec.Progress, Label: spec.Label}}
	r.res = res
	sampler := startRSSSampler(100 * time.Millisecond)
	io0 := readIO()
	cpu0 := processCPU()
	start := time.Now()
	err = ch.run(r)
	if r.st != nil {
		err = errors.Join(err, r.closeStore())
	}
	r.closeWindow()
	io := readIO()
	r.res.ProcIO = io.ok && io0.ok
	d := io.sub(io0)
	r.res.WriteBytes, r.res.WChar = d.writeBytes, d.wchar
	for _, w := range r.res.Workloads {
		r.res.UserWrite += w.UserWrite
	}
	r.res.Seconds = time.Since(start).Seconds()
	r.res.CPUSeconds = processCPU() - cpu0
	r.res.RSSAnonPeak = sampler.finish()
	r.res.VMHWM = readMemStatus().vmHWM
	r.res.LiveBytes = r.live
	if alloc, apparent, derr := dirUsage(spec.Dir); derr == nil {
		r.res.DiskAlloc, r.res.DiskSize = alloc, apparent
	} else {
		err = errors.Join(err, derr)
	}
	if err != nil {
		r.res.Error = err.Error()
	}
	return r.res
}

// openStore opens the chain's store in its directory.
func (r *chainRun) openStore() error {
	st, opts, err := r.eng.open(r.spec.Dir, openConfig{syncWrites: r.chain.sync})
	if err != nil {
		return fmt.Errorf("open %s: %w", r.eng.name, err)
	}
	r.st = st
	opts = maskDir(opts)
	if !slices.Contains(r.res.Options, opts) {
		r.res.Options = append(r.res.Options, opts)
	}
	return nil
}

// closeStore closes the open store.
func (r *chainRun) closeStore() error {
	st := r.st
	r.st = nil
	if err := st.close(); err != nil {
		return fmt.Errorf("close %s: %w", r.eng.name, err)
	}
	return nil
}

// closeWindow ends the open write-amplification window, if any.
func (r *chainRun) closeWindow() {
	if r.win < 0 {
		return
	}
	d := readIO().sub(r.winStart)
	w := &r.res.Workloads[r.win]
	w.WriteBytes, w.CancelledByte, w.WChar = d.writeBytes, d.cancelledWriteBytes, d.wchar
	r.win = -1
}

// begin starts a row; writes says whether the workload writes (and so opens
// a write-amplification window). It returns the row's index; finish it with
// end.
func (r *chainRun) begin(name string, writes bool) int {
	if writes {
		r.closeWindow()
	}
	r.res.Workloads = append(r.res.Workloads, wlResult{Name: name})
	i := len(r.res.Workloads) - 1
	r.stallOK, r.delayOK = false, false
	if writes {
		r.win, r.winStart = i, readIO()
		if st, ok := r.st.(stallTimer); ok {
			r.stallStart, r.stallOK = st.stallTime(), true
		}
		if dt, ok := r.st.(delayTimer); ok {
			r.delayStart, r.delayOK = dt.delayTime(), true
		}
	}
	r.startProfile(name)
	r.cpuStart = processCPU()
	return i
}

// end completes row i.
func (r *chainRun) end(i int, h *hist, elapsed time.Duration) {
	cpu := processCPU() - r.cpuStart
	r.stopProfile(r.res.Workloads[i].Name)
	w := &r.res.Workloads[i]
	w.CPUSeconds = cpu
	w.Seconds = elapsed.Seconds()
	if st, ok := r.st.(stallTimer); ok && r.stallOK {
		w.StallSeconds, w.StallPercent = waited(st.stallTime()-r.stallStart, elapsed)
	}
	if dt, ok := r.st.(delayTimer); ok && r.delayOK {
		w.DelaySeconds, w.DelayPercent = waited(dt.delayTime()-r.delayStart, elapsed)
	}
	if h != nil && h.Count() > 0 {
		w.P50, w.P99, w.P999 = float64(h.Quantile(0.5)), float64(h.Quantile(0.99)), float64(h.Quantile(0.999))
	}
}

// waited renders a time writes waited during a workload of the given wall
// time as seconds and as a percentage of it.
func waited(d, elapsed time.Duration) (sec, pct *float64) {
	s := d.Seconds()
	p := 0.0
	if elapsed > 0 {
		p = 100 * s / elapsed.Seconds()
	}
	return &s, &p
}

func (r *chainRun) profiled(name string) bool {
	return r.spec.ProfileDir != "" && slices.Contains(r.spec.Profile, name)
}

func (r *chainRun) profilePath(name, kind string) string {
	return filepath.Join(r.spec.ProfileDir, fmt.Sprintf("%s-%s.%s.pprof", r.eng.name, name, kind))
}

func (r *chainRun) startProfile(name string) {
	if !r.profiled(name) {
		return
	}
	writeHeapProfile(r.profilePath(name, "allocs-base"))
	f, err := os.Create(r.profilePath(name, "cpu"))
	if err != nil {
		fmt.Fprintf(r.prog.W, "bench: cpu profile: %v\n", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(r.prog.W, "bench: cpu profile: %v\n", err)
		f.Close()
	}
	cpuProfileFile = f
}

func (r *chainRun) stopProfile(name string) {
	if !r.profiled(name) || cpuProfileFile == nil {
		return
	}
	pprof.StopCPUProfile()
	cpuProfileFile.Close()
	cpuProfileFile = nil
	writeHeapProfile(r.profilePath(name, "allocs"))
}

// cpuProfileFile is the file of the running CPU profile (one per process).
var cpuProfileFile *os.File

// writeHeapProfile writes the allocation profile (every allocation since
// the process started, sampled); compare two with go tool pprof -diff_base.
func writeHeapProfile(path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	pprof.Lookup("allocs").WriteTo(f, 0)
}
