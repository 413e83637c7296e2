package backend_test

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/compaction/tiered"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/memtable/skiplist"
	"github.com/nokv/nokv/registry"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vlog"
	"github.com/nokv/nokv/vlog/inline"
)

var (
	metaSeed  = flag.Uint64("metamorphic.seed", 0, "run only this metamorphic seed (to reproduce a failure)")
	metaSeeds = flag.Int("metamorphic.seeds", 0, "metamorphic seeds to run, from 1 (default: 3, fewer when the registry lists many combinations, 1 with -short)")
	metaOps   = flag.Int("metamorphic.ops", 0, "operations per metamorphic log (default 500)")
)

// metaVariant adjusts the options of a run beyond the components.
type metaVariant struct {
	name  string
	apply func(o *backend.Options, c registry.Config)
}

// smallPolicy shapes the policy for stores of a few hundred KiB, so runs
// build deep trees: leveled gets small level targets and the given L0
// trigger, tiered merges from the given number of runs (at least 2).
// Policies it does not know keep the registry's settings.
func smallPolicy(o *backend.Options, c registry.Config, l0 int) {
	switch c.Compaction {
	case "leveled":
		o.CompactionPolicy = leveled.New(leveled.Options{L0Trigger: l0, BaseLevelSize: 64 << 10, LevelMultiplier: 4})
	case "tiered":
		o.CompactionPolicy = tiered.New(tiered.Options{MinMergeWidth: max(l0, 2)})
	}
}

// metaVariants are the option settings every combination runs with. They
// move flushes, compactions, table and block boundaries and manifest
// rewrites to different places in the log; none may change an output.
var metaVariants = []metaVariant{
	{"small", func(o *backend.Options, c registry.Config) { smallPolicy(o, c, 2) }},
	{"tiny-tables", func(o *backend.Options, c registry.Config) {
		smallPolicy(o, c, 2)
		o.TargetTableSize = 4 << 10
		// Tiny blocks and no block cache: every read goes to the file.
		o.TableFormat = sstable.New(sstable.Options{BlockSize: 256, RestartInterval: 3})
	}},
	{"l0-trigger-1", func(o *backend.Options, c registry.Config) { smallPolicy(o, c, 1) }},
	{"l0-trigger-8", func(o *backend.Options, c registry.Config) {
		smallPolicy(o, c, 8)
		o.L0StopWritesThreshold = 12
	}},
	{"no-background", func(o *backend.Options, c registry.Config) {
		smallPolicy(o, c, 2)
		o.DisableBackgroundWork = true
	}},
	{"ingest-buffer", func(o *backend.Options, c registry.Config) {
		// Every L0 compaction goes through an ingest buffer (moves, merges
		// inside, drains; see bufferingPolicy), with up to four compactions
		// at once split into small subcompactions.
		smallPolicy(o, c, 2)
		if c.Compaction == "leveled" { // leveled's own buffer would share the shards
			o.CompactionPolicy = leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4, DisableIngest: true})
		}
		o.CompactionPolicy = &bufferingPolicy{inner: o.CompactionPolicy}
		o.TargetTableSize = 4 << 10
		o.MaxConcurrentCompactions = 4
		o.MaxSubcompactions = 3
	}},
	{"segmented-memtable", func(o *backend.Options, c registry.Config) {
		// Memtables of many 1 KiB segments (memtable/segmented): reads,
		// iterators and flushes merge segments, and concurrent writers
		// land versions of one key in segments out of order.
		smallPolicy(o, c, 2)
		o.MemtableSegmentSize = 1 << 10
	}},
	{"large-memtable", func(o *backend.Options, c registry.Config) {
		o.MemtableSize = 64 << 20 // only explicit flushes (and recovery) make tables
	}},
	{"tiny-manifest", func(o *backend.Options, c registry.Config) {
		smallPolicy(o, c, 3)
		o.MaxManifestFileSize = 256
		o.LogSegmentSize = 8 << 10
		o.ValueThreshold = 64
		o.SyncWrites = true
	}},
}

// metaConfig is one way to run a log: a component combination and a variant.
type metaConfig struct {
	combo   registry.Config
	variant metaVariant
	reg     *registry.Registry
}

func (c metaConfig) String() string { return c.combo.String() + " " + c.variant.name }

func (c metaConfig) options() (backend.Options, error) {
	o := backend.Options{
		MemtableSize:    64 << 10,
		TargetTableSize: 16 << 10,
		LogSegmentSize:  32 << 10,
		BlockCacheSize:  1 << 20,
		Logger:          hclog.NewNullLogger(),
	}
	if _, err := c.reg.Resolve(c.combo, &o); err != nil {
		return o, err
	}
	smallValueLog(&o, c.combo)
	c.variant.apply(&o, c.combo)
	return o, nil
}

// smallValueLog gives the value log small segments, so that runs seal many
// of them and value-log GC has segments to collect.
func smallValueLog(o *backend.Options, c registry.Config) {
	if c.ValueStore == "vlog" {
		o.NewValueStore = vlog.NewWithOptions(vlog.Options{SegmentSize: 8 << 10})
	}
}

// run interprets ops on a fresh store configured by c.
func (c metaConfig) run(ops []metaOp) ([]string, error) {
	o, err := c.options()
	if err != nil {
		return nil, err
	}
	return runMetaLog(newMetaEngine(o), ops), nil
}

func metaConfigs(reg *registry.Registry) []metaConfig {
	var out []metaConfig
	for _, combo := range reg.Combinations() {
		for _, v := range metaVariants {
			out = append(out, metaConfig{combo: combo, variant: v, reg: reg})
		}
	}
	return out
}

// firstDiff returns the index of the first line where got and want differ,
// or -1.
func firstDiff(got, want []string) int {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return i
		}
	}
	if len(got) != len(want) {
		return min(len(got), len(want))
	}
	return -1
}

// describeDiff explains the first difference between an engine's outputs
// and the model's for ops.
func describeDiff(ops []metaOp, got, want []string) string {
	i := firstDiff(got, want)
	if i < 0 {
		return "no difference"
	}
	line := func(s []string) string {
		if i >= len(s) {
			return "(no more output)"
		}
		if len(s[i]) > 2000 {
			return s[i][:2000] + "..."
		}
		return s[i]
	}
	where := "the final scan and check"
	if i < len(ops) {
		where = fmt.Sprintf("op %d: %s", i, ops[i].String())
	}
	return fmt.Sprintf("first difference at %s\n  engine: %s\n  model:  %s", where, line(got), line(want))
}

// divergence runs ops on c and on the model and reports whether they
// differ, with the description of the first difference.
func divergence(c metaConfig, ops []metaOp) (bool, string, error) {
	got, err := c.run(ops)
	if err != nil {
		return false, "", err
	}
	want := runMetaLog(newMetaModel(), ops)
	if firstDiff(got, want) < 0 {
		return false, "", nil
	}
	return true, describeDiff(ops, got, want), nil
}

// shrinkLog drops chunks of operations (halving the chunk size down to one
// operation, then dropping entries of batches) for as long as fails still
// holds, and returns the shortest log it found. It stops at the deadline.
func shrinkLog(ops []metaOp, fails func([]metaOp) bool, deadline time.Time) []metaOp {
	ops = slices.Clone(ops)
	for chunk := max(len(ops)/2, 1); ; {
		removed := false
		for start := 0; start < len(ops) && time.Now().Before(deadline); {
			end := min(start+chunk, len(ops))
			cand := append(slices.Clone(ops[:start]), ops[end:]...)
			if len(cand) > 0 && fails(cand) {
				ops, removed = cand, true
				continue
			}
			start = end
		}
		if !time.Now().Before(deadline) || (chunk == 1 && !removed) {
			break
		}
		if !removed {
			chunk = max(chunk/2, 1)
		}
	}
	for i := 0; i < len(ops) && time.Now().Before(deadline); i++ {
		if ops[i].kind != mBatch && ops[i].kind != mParallel {
			continue
		}
		for j := 0; j < len(ops[i].sub) && len(ops[i].sub) > 1 && time.Now().Before(deadline); {
			cand := slices.Clone(ops)
			cand[i].sub = append(slices.Clone(ops[i].sub[:j]), ops[i].sub[j+1:]...)
			if fails(cand) {
				ops = cand
				continue
			}
			j++
		}
	}
	return ops
}

func formatLog(ops []metaOp) string {
	var b strings.Builder
	for i := range ops {
		fmt.Fprintf(&b, "  %3d  %s\n", i, ops[i].String())
	}
	return b.String()
}

// metaRunBudget bounds the runs of a default TestMetamorphic: the seeds per
// configuration shrink as the registry lists more combinations.
const metaRunBudget = 84

func metaSeedList(configs int) []uint64 {
	if *metaSeed != 0 {
		return []uint64{*metaSeed}
	}
	n := *metaSeeds
	if n == 0 {
		n = min(3, max(1, metaRunBudget/configs))
		if testing.Short() {
			n = 1
		}
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// TestMetamorphic runs seeded operation logs (sets, deletes, batches,
// expiring values, point reads, iterator programs with bounds and direction
// changes, snapshots, flushes, compactions, reopens and simulated crashes)
// over every component combination the registry lists, each with several
// option variants, and checks that every run prints exactly what an
// in-memory model prints. A failing log is shrunk and printed with the seed
// that reproduces it (-metamorphic.seed=N).
func TestMetamorphic(t *testing.T) {
	configs := metaConfigs(registry.Builtin())
	seeds := metaSeedList(len(configs))
	nops := *metaOps
	if nops == 0 {
		nops = 500
	}
	logs := make([][]metaOp, len(seeds))
	wants := make([][]string, len(seeds))
	for i, seed := range seeds {
		logs[i] = genLog(seed, nops)
		wants[i] = runMetaLog(newMetaModel(), logs[i])
	}
	for _, c := range configs {
		t.Run(strings.ReplaceAll(c.String(), " ", "/"), func(t *testing.T) {
			for i, seed := range seeds {
				got, err := c.run(logs[i])
				if err != nil {
					t.Fatal(err)
				}
				if firstDiff(got, wants[i]) < 0 {
					continue
				}
				t.Fatal(reportDivergence(c, seed, logs[i], got, wants[i]))
			}
			t.Logf("%d seeds of %d operations agree with the model", len(seeds), nops)
		})
	}
}

// reportDivergence shrinks a failing log and describes it.
func reportDivergence(c metaConfig, seed uint64, ops []metaOp, got, want []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d on %s: the engine disagrees with the model\n%s\n", seed, c, describeDiff(ops, got, want))
	fmt.Fprintf(&b, "reproduce: go test ./backend -run 'TestMetamorphic$' -metamorphic.seed=%d -metamorphic.ops=%d\n", seed, len(ops))
	fails := func(cand []metaOp) bool {
		bad, _, err := divergence(c, cand)
		return err == nil && bad
	}
	if !fails(ops) {
		b.WriteString("the failure did not happen again on a second run (timing-dependent?); not shrunk\n")
		return b.String()
	}
	small := shrinkLog(ops, fails, time.Now().Add(2*time.Minute))
	_, desc, _ := divergence(c, small)
	fmt.Fprintf(&b, "shrunk from %d to %d operations:\n%s%s\n", len(ops), len(small), formatLog(small), desc)
	return b.String()
}

// TestMetamorphicModelIsDeterministic checks the harness itself: the same
// seed yields the same log and the same model outputs.
func TestMetamorphicModelIsDeterministic(t *testing.T) {
	a, b := genLog(7, 300), genLog(7, 300)
	if formatLog(a) != formatLog(b) {
		t.Fatal("genLog is not deterministic")
	}
	if slices.Compare(runMetaLog(newMetaModel(), a), runMetaLog(newMetaModel(), b)) != 0 {
		t.Fatal("the model is not deterministic")
	}
}

// lossyMemtable is a deliberately broken memtable: it drops writes of key
// k005 whose value is larger than 150 bytes.
type lossyMemtable struct{ iface.Memtable }

func (m lossyMemtable) Add(ikey, value []byte) error {
	if string(iface.UserKey(ikey)) == "k005" && len(value) > 150 {
		return nil
	}
	return m.Memtable.Add(ikey, value)
}

// TestMetamorphicCatchesBrokenMemtable checks that the harness finds a
// planted bug and shrinks the log that shows it to a few operations.
func TestMetamorphicCatchesBrokenMemtable(t *testing.T) {
	reg := registry.New()
	reg.RegisterMemtable("lossy", func(o iface.MemtableOptions) iface.Memtable { return lossyMemtable{skiplist.New(o)} })
	reg.RegisterCompaction("leveled", func() iface.CompactionPolicy { return leveled.New(leveled.Options{}) })
	reg.RegisterValueStore(inline.Name, inline.New)
	c := metaConfigs(reg)[0]
	var ops []metaOp
	for seed := uint64(1); seed < 20; seed++ {
		ops = genLog(seed, 300)
		if bad, _, err := divergence(c, ops); err != nil {
			t.Fatal(err)
		} else if bad {
			break
		}
		ops = nil
	}
	if ops == nil {
		t.Fatal("no seed exposed the lossy memtable")
	}
	fails := func(cand []metaOp) bool {
		bad, _, err := divergence(c, cand)
		return err == nil && bad
	}
	small := shrinkLog(ops, fails, time.Now().Add(30*time.Second))
	if len(small) > 3 {
		t.Fatalf("shrunk only to %d operations:\n%s", len(small), formatLog(small))
	}
	_, desc, _ := divergence(c, small)
	t.Logf("planted bug shrunk from %d to %d operations:\n%s%s", len(ops), len(small), formatLog(small), desc)
}
