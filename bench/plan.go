package main

import (
	"fmt"
	"strings"
)

// size fixes how much every workload does. Large values get fewer keys, so
// each fill writes a comparable volume of user data.
type size struct {
	Name       string `json:"name"`        // as --size takes it
	Keys       int64  `json:"keys"`        // fillseq, fillrandom (100 B values), scan
	Reads      int64  `json:"reads"`       // readrandom, readrandom-reopen
	Keys1K     int64  `json:"keys_1k"`     // fillrandom with 1 KiB values
	Keys16K    int64  `json:"keys_16k"`    // fillrandom with 16 KiB values
	Sync1      int64  `json:"sync_1"`      // synced writes by one writer
	Sync16     int64  `json:"sync_16"`     // synced writes by 16 writers together
	RWWReads   int64  `json:"rww_reads"`   // reads of readwhilewriting
	Records    int64  `json:"records"`     // YCSB records loaded
	YCSBOps    int64  `json:"ycsb_ops"`    // operations of YCSB A, B, C, D, F
	YCSBEOps   int64  `json:"ycsb_e_ops"`  // operations (mostly scans) of YCSB E
	YCSBValue  int    `json:"ycsb_value"`  // YCSB record size
	Reps       int    `json:"reps"`        // repetitions of every run
	MaxScanLen int    `json:"max_scan"`    // YCSB E scan length is uniform in [1, MaxScanLen]
	SmallValue int    `json:"small_value"` // value size of fillseq and fillrandom
}

// sizes are the presets of --size. full is what docs/benchmarks.md
// reports; small is the quick run; tiny is for tests.
var sizes = []size{
	{Name: "tiny", Keys: 2000, Reads: 2000, Keys1K: 500, Keys16K: 64, Sync1: 50, Sync16: 160, RWWReads: 1000,
		Records: 2000, YCSBOps: 1000, YCSBEOps: 100, YCSBValue: 1 << 10, Reps: 1, MaxScanLen: 100, SmallValue: 100},
	{Name: "small", Keys: 100_000, Reads: 50_000, Keys1K: 25_000, Keys16K: 1_600, Sync1: 1_000, Sync16: 4_000, RWWReads: 20_000,
		Records: 100_000, YCSBOps: 50_000, YCSBEOps: 5_000, YCSBValue: 1 << 10, Reps: 3, MaxScanLen: 100, SmallValue: 100},
	{Name: "full", Keys: 1_000_000, Reads: 500_000, Keys1K: 250_000, Keys16K: 16_000, Sync1: 5_000, Sync16: 20_000, RWWReads: 200_000,
		Records: 1_000_000, YCSBOps: 250_000, YCSBEOps: 25_000, YCSBValue: 1 << 10, Reps: 3, MaxScanLen: 100, SmallValue: 100},
}

func findSize(name string) (size, error) {
	var names []string
	for _, s := range sizes {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return size{}, fmt.Errorf("unknown size %q; valid: %s", name, strings.Join(names, ", "))
}

// chain is what one child process does in one fresh directory: open a
// store, run workloads in order (some reopen it), close it. Every engine
// runs every chain the same way, with the same keys and values.
type chain struct {
	name      string
	workloads []string // the rows it produces, in order
	sync      bool     // its writes are synced
	about     func(s size) string
	run       func(r *chainRun) error
}

// chains lists every chain in the order a repetition runs them.
func chains() []chain {
	return []chain{
		{
			name: "fillseq", workloads: []string{"fillseq"},
			about: func(s size) string { return fmt.Sprintf("%d keys in key order, %d B values", s.Keys, s.SmallValue) },
			run:   runFillSeq,
		},
		{
			name:      "fillrandom",
			workloads: []string{"fillrandom", "readrandom", "scan", "readrandom-reopen", "readwhilewriting"},
			about: func(s size) string {
				return fmt.Sprintf("%d keys in random order (%d B values); %d random reads; a full scan; close, reopen, "+
					"%d random reads; %d random reads while one writer overwrites random keys at up to %d writes/s",
					s.Keys, s.SmallValue, s.Reads, s.Reads, s.RWWReads, rwwWriteRate)
			},
			run: runFillRandom,
		},
		{
			name: "fillrandom-4", workloads: []string{"fillrandom-4"},
			about: func(s size) string {
				return fmt.Sprintf("fillrandom's fill (%d keys in the same random order, %d B values) split over %d concurrent writers",
					s.Keys, s.SmallValue, fillRandomWriters)
			},
			run: func(r *chainRun) error {
				if err := r.openStore(); err != nil {
					return err
				}
				return r.fillRandom("fillrandom-4", r.size.Keys, r.size.SmallValue, fillRandomWriters)
			},
		},
		{
			name: "fillrandom-1k", workloads: []string{"fillrandom-1k"},
			about: func(s size) string { return fmt.Sprintf("%d keys in random order, 1 KiB values", s.Keys1K) },
			run:   func(r *chainRun) error { return r.fillRandomChain("fillrandom-1k", r.size.Keys1K, 1<<10) },
		},
		{
			name: "fillrandom-16k", workloads: []string{"fillrandom-16k"},
			about: func(s size) string { return fmt.Sprintf("%d keys in random order, 16 KiB values", s.Keys16K) },
			run:   func(r *chainRun) error { return r.fillRandomChain("fillrandom-16k", r.size.Keys16K, 16<<10) },
		},
		{
			name: "fillsync-1", workloads: []string{"fillsync-1"}, sync: true,
			about: func(s size) string {
				return fmt.Sprintf("%d random keys, %d B values, every write synced, 1 writer", s.Sync1, s.SmallValue)
			},
			run: func(r *chainRun) error { return r.fillSyncChain("fillsync-1", r.size.Sync1, 1) },
		},
		{
			name: "fillsync-16", workloads: []string{"fillsync-16"}, sync: true,
			about: func(s size) string {
				return fmt.Sprintf("%d random keys, %d B values, every write synced, 16 concurrent writers", s.Sync16, s.SmallValue)
			},
			run: func(r *chainRun) error { return r.fillSyncChain("fillsync-16", r.size.Sync16, 16) },
		},
		{
			name:      "ycsb",
			workloads: []string{"ycsb-load", "ycsb-a", "ycsb-b", "ycsb-c", "ycsb-f", "ycsb-d", "ycsb-e"},
			about: func(s size) string {
				return fmt.Sprintf("load %d records of %d B (hashed key order); close, reopen; A, B, C, F, D: %d operations each, "+
					"E: %d; scrambled zipfian keys (latest for D), one client", s.Records, s.YCSBValue, s.YCSBOps, s.YCSBEOps)
			},
			run: runYCSB,
		},
	}
}

// findChains resolves a comma-separated list of chain names ("" or "all":
// every chain).
func findChains(list string) ([]chain, error) {
	all := chains()
	if list == "" || list == "all" {
		return all, nil
	}
	var out []chain
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, c := range all {
			if c.name == n {
				out = append(out, c)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown chain %q; valid: %s", n, strings.Join(allChainNames(), ", "))
		}
	}
	return out, nil
}

// allChainNames lists the names of every chain, in order.
func allChainNames() []string {
	var names []string
	for _, c := range chains() {
		names = append(names, c.name)
	}
	return names
}

func findChain(name string) (chain, bool) {
	for _, c := range chains() {
		if c.name == name {
			return c, true
		}
	}
	return chain{}, false
}
