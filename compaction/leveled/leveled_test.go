package leveled

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/nokv/nokv/compaction/compactiontest"
	"github.com/nokv/nokv/iface"
)

// TestGolden runs the scripts in testdata; go test -rewrite regenerates them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { compactiontest.RunGolden(t, f, runCase) })
	}
}

// runCase handles the command "pick" with Options fields as arguments: it
// prints the shape the policy reads and the plan it makes.
func runCase(c *compactiontest.Case) (string, error) {
	if c.Cmd != "pick" {
		return "", fmt.Errorf("unknown command %q", c.Cmd)
	}
	var o Options
	for _, f := range []struct {
		key string
		dst any
	}{
		{"NumLevels", &o.NumLevels}, {"L0Trigger", &o.L0Trigger}, {"L0TriggerBytes", &o.L0TriggerBytes},
		{"L0MaxInputs", &o.L0MaxInputs}, {"BaseLevelSize", &o.BaseLevelSize}, {"LevelMultiplier", &o.LevelMultiplier},
		{"IngestShards", &o.IngestShards}, {"IngestShardBytes", &o.IngestShardBytes},
		{"IngestDrainRuns", &o.IngestDrainRuns}, {"IngestMergeRuns", &o.IngestMergeRuns},
	} {
		v, err := c.Int(f.key, 0)
		if err != nil {
			return "", err
		}
		switch d := f.dst.(type) {
		case *int:
			*d = int(v)
		case *int64:
			*d = v
		}
	}
	static, err := c.Bool("StaticLevels")
	if err != nil {
		return "", err
	}
	o.StaticLevels = static
	if o.DisableIngest, err = c.Bool("DisableIngest"); err != nil {
		return "", err
	}
	if v, ok := c.Arg("IngestShardChoice"); ok {
		switch v {
		case "by-order":
			o.IngestShardChoice = ShardByOrder
		case "by-backlog":
			o.IngestShardChoice = ShardByBacklog
		default:
			return "", fmt.Errorf("IngestShardChoice %q: want by-order or by-backlog", v)
		}
	}
	for _, f := range []struct {
		key string
		dst *float64
	}{{"IngestMoveRatio", &o.IngestMoveRatio}, {"IngestDrainShare", &o.IngestDrainShare}} {
		if v, ok := c.Arg(f.key); ok {
			if *f.dst, err = strconv.ParseFloat(v, 64); err != nil {
				return "", fmt.Errorf("%s: %w", f.key, err)
			}
		}
	}
	if err := o.Validate(); err != nil {
		return "", err
	}
	p := New(o)
	s, err := compactiontest.ParseShape(c.Input, p.NumLevels())
	if err != nil {
		return "", err
	}
	plan := p.Pick(s)
	if err := compactiontest.ValidatePlan(s, p.NumLevels(), plan); err != nil {
		return "", fmt.Errorf("invalid plan %s: %w", compactiontest.FormatPlan(plan), err)
	}
	return formatShape(p.Shape(s)) + "pending: " + compactiontest.FormatSize(p.PendingBytes(s)) + "\n" +
		compactiontest.FormatPlan(plan), nil
}

func formatShape(sh Shape) string {
	var b strings.Builder
	fmt.Fprintf(&b, "base: L%d\nL0: score %.2f\n", sh.Base, sh.Scores[0])
	for lvl := sh.Base; lvl < len(sh.Targets); lvl++ {
		fmt.Fprintf(&b, "L%d: target %s, score %.2f", lvl, compactiontest.FormatSize(sh.Targets[lvl]), sh.Scores[lvl])
		if lvl < len(sh.Targets)-1 && sh.Priorities[lvl] != sh.Scores[lvl] {
			fmt.Fprintf(&b, ", priority %.2f", sh.Priorities[lvl])
		}
		if sh.IngestRuns[lvl] > 0 || sh.DrainScores[lvl] > 0 {
			fmt.Fprintf(&b, "; ingest %s in %d runs, drain score %.2f",
				compactiontest.FormatSize(sh.IngestBytes[lvl]), sh.IngestRuns[lvl], sh.DrainScores[lvl])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestProperties checks random trees and histories (see
// compactiontest.RunProperties); once settled, no level may be over bounds.
func TestProperties(t *testing.T) {
	compactiontest.RunProperties(t, compactiontest.Properties{
		New: func(t *rapid.T) iface.CompactionPolicy {
			return New(Options{
				NumLevels:       rapid.IntRange(2, 16).Draw(t, "NumLevels"),
				L0Trigger:       rapid.IntRange(1, 6).Draw(t, "L0Trigger"),
				L0TriggerBytes:  int64(1) << rapid.IntRange(16, 34).Draw(t, "L0TriggerBytes shift"),
				L0MaxInputs:     rapid.IntRange(1, 8).Draw(t, "L0MaxInputs"),
				BaseLevelSize:   int64(1) << rapid.IntRange(16, 32).Draw(t, "BaseLevelSize shift"),
				LevelMultiplier: rapid.IntRange(2, 12).Draw(t, "LevelMultiplier"),
				StaticLevels:    rapid.IntRange(0, 4).Draw(t, "StaticLevels") == 0,

				DisableIngest:     rapid.IntRange(0, 5).Draw(t, "DisableIngest") == 0,
				IngestShards:      rapid.IntRange(1, 5).Draw(t, "IngestShards"),
				IngestShardChoice: ShardChoice(rapid.IntRange(0, 1).Draw(t, "IngestShardChoice")),
				IngestShardBytes:  int64(rapid.IntRange(0, 1).Draw(t, "IngestShardBytes set")) << rapid.IntRange(10, 30).Draw(t, "IngestShardBytes shift"),
				IngestMoveRatio:   []float64{1e-9, 0.5, 1, 4}[rapid.IntRange(0, 3).Draw(t, "IngestMoveRatio")],
				IngestDrainShare:  []float64{0.1, 0.5, 1}[rapid.IntRange(0, 2).Draw(t, "IngestDrainShare")],
				IngestDrainRuns:   rapid.IntRange(1, 20).Draw(t, "IngestDrainRuns"),
				IngestMergeRuns:   rapid.IntRange(2, 10).Draw(t, "IngestMergeRuns"),
			})
		},
		Settled: func(p iface.CompactionPolicy, s *iface.LevelsSnapshot) error {
			sh := p.(*Leveled).Shape(s)
			if c := sh.candidates(); len(c) > 0 {
				return fmt.Errorf("levels %v need a compaction; scores %.2f", c, sh.Scores)
			}
			if d := p.(*Leveled).PendingBytes(s); d != 0 {
				return fmt.Errorf("settled with %d pending bytes", d)
			}
			return nil
		},
	})
}

func TestDefaults(t *testing.T) {
	o := New(Options{}).Options()
	want := Options{NumLevels: 7, L0Trigger: 4, L0TriggerBytes: 1 << 30, L0MaxInputs: 16, BaseLevelSize: 256 << 20, LevelMultiplier: 10,
		IngestShards: 4, IngestMoveRatio: 1, IngestDrainShare: 0.5, IngestDrainRuns: 16, IngestMergeRuns: 8}
	if o != want {
		t.Fatalf("defaults %+v, want %+v", o, want)
	}
	// The options the engine's tests use keep their meaning.
	o = New(Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4}).Options()
	if o.L0Trigger != 2 || o.BaseLevelSize != 64<<10 || o.LevelMultiplier != 4 || o.L0TriggerBytes != 128<<10 {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range []Options{{NumLevels: 17}, {NumLevels: 1}, {L0Trigger: -1}, {LevelMultiplier: 1}, {BaseLevelSize: -5},
		{IngestShards: -1}, {IngestShards: 65}, {IngestShardChoice: 2}, {IngestShardBytes: -1}, {IngestMoveRatio: -1},
		{IngestMoveRatio: math.NaN()}, {IngestDrainShare: 1.5}, {IngestDrainRuns: -1}, {IngestMergeRuns: 1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
	if err := (&Options{}).Validate(); err != nil {
		t.Errorf("Validate(zero) = %v", err)
	}
}
