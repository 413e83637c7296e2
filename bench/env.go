package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// environment describes the machine and the time of a run, for the report:
// figures from a loaded machine are not comparable with a quiet one's, so
// the load average before and after is part of the result.
type environment struct {
	Date      string  `json:"date"`       // start, UTC
	CPU       string  `json:"cpu"`        // model name
	Cores     int     `json:"cores"`      // logical CPUs
	MaxProcs  int     `json:"gomaxprocs"` // GOMAXPROCS of the runs
	MemTotal  string  `json:"mem_total"`  // as /proc/meminfo says
	Kernel    string  `json:"kernel"`     // release
	Go        string  `json:"go"`         // toolchain version
	NoKV      string  `json:"nokv"`       // the repository's commit, and whether the tree had changes
	LoadStart string  `json:"load_start"` // 1, 5 and 15 minute load averages before
	LoadEnd   string  `json:"load_end"`   // and after
	Minutes   float64 `json:"minutes"`    // wall time of the measured runs
}

func captureEnv() environment {
	e := environment{
		Date:     time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Cores:    runtime.NumCPU(),
		MaxProcs: runtime.GOMAXPROCS(0),
		Go:       runtime.Version(),
		CPU:      procField("/proc/cpuinfo", "model name"),
		MemTotal: procField("/proc/meminfo", "MemTotal"),
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	e.NoKV = treeRevision()
	e.LoadStart = loadAverage()
	return e
}

// treeRevision names the commit of the NoKV tree the harness was built
// from (bench/ replaces the module with the enclosing repository), with
// "+ uncommitted changes" when the tree differs from it: a table is only
// comparable with another of the same engine.
func treeRevision() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not in a git checkout)"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}

// finish records the load average at the end and the duration.
func (e *environment) finish(d time.Duration) {
	e.LoadEnd = loadAverage()
	e.Minutes = d.Minutes()
}

// loadAverage returns the 1, 5 and 15 minute load averages.
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

// procField returns the value of the first "name: value" line of a /proc
// file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}
