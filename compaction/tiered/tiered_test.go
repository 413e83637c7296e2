package tiered

import (
	"fmt"
	"path/filepath"
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
// prints the sorted runs the policy reads and the plan it makes.
func runCase(c *compactiontest.Case) (string, error) {
	if c.Cmd != "pick" {
		return "", fmt.Errorf("unknown command %q", c.Cmd)
	}
	var o Options
	for _, f := range []struct {
		key string
		dst *int
	}{
		{"NumLevels", &o.NumLevels}, {"SizeRatio", &o.SizeRatio}, {"MinMergeWidth", &o.MinMergeWidth},
		{"MaxMergeWidth", &o.MaxMergeWidth}, {"MaxRuns", &o.MaxRuns},
		{"MaxSpaceAmplificationPercent", &o.MaxSpaceAmplificationPercent},
	} {
		v, err := c.Int(f.key, 0)
		if err != nil {
			return "", err
		}
		*f.dst = int(v)
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
	var b strings.Builder
	b.WriteString("runs:")
	for _, r := range Runs(s, p.NumLevels()) {
		if r.Level == 0 {
			fmt.Fprintf(&b, " L0#%d", r.Tables[0].ID)
		} else {
			fmt.Fprintf(&b, " L%d", r.Level)
		}
		b.WriteString("=" + compactiontest.FormatSize(r.Bytes))
		if r.Busy {
			b.WriteString("(busy)")
		}
	}
	b.WriteString("\npending: " + compactiontest.FormatSize(p.PendingBytes(s)))
	b.WriteString("\n" + compactiontest.FormatPlan(plan))
	return b.String(), nil
}

// TestProperties checks random trees and histories (see
// compactiontest.RunProperties); once settled, the tree has at most MaxRuns
// runs and its space amplification is within bounds.
func TestProperties(t *testing.T) {
	compactiontest.RunProperties(t, compactiontest.Properties{
		New: func(t *rapid.T) iface.CompactionPolicy {
			return New(Options{
				NumLevels:                    rapid.IntRange(2, 16).Draw(t, "NumLevels"),
				SizeRatio:                    rapid.IntRange(-1, 100).Draw(t, "SizeRatio"),
				MinMergeWidth:                rapid.IntRange(2, 6).Draw(t, "MinMergeWidth"),
				MaxMergeWidth:                rapid.IntRange(0, 8).Draw(t, "MaxMergeWidth"),
				MaxRuns:                      rapid.IntRange(1, 12).Draw(t, "MaxRuns"),
				MaxSpaceAmplificationPercent: rapid.IntRange(1, 400).Draw(t, "MaxSpaceAmplificationPercent"),
			})
		},
		Settled: func(p iface.CompactionPolicy, s *iface.LevelsSnapshot) error {
			tp := p.(*Tiered)
			runs := Runs(s, tp.NumLevels())
			if len(runs) > tp.opts.MaxRuns {
				return fmt.Errorf("%d runs, MaxRuns %d", len(runs), tp.opts.MaxRuns)
			}
			if len(runs) >= 2 {
				var newer int64
				for _, r := range runs[:len(runs)-1] {
					newer += r.Bytes
				}
				if newer*100 > int64(tp.opts.MaxSpaceAmplificationPercent)*runs[len(runs)-1].Bytes {
					return fmt.Errorf("space amplification over %d%%", tp.opts.MaxSpaceAmplificationPercent)
				}
			}
			if d := tp.PendingBytes(s); d != 0 {
				return fmt.Errorf("settled with %d pending bytes", d)
			}
			return nil
		},
	})
}

func TestDefaults(t *testing.T) {
	o := New(Options{}).Options()
	want := Options{NumLevels: 7, SizeRatio: 1, MinMergeWidth: 4, MaxRuns: 12, MaxSpaceAmplificationPercent: 200}
	if o != want {
		t.Fatalf("defaults %+v, want %+v", o, want)
	}
	if p := New(Options{SizeRatio: -1}); p.sizeRatio() != 0 {
		t.Fatalf("SizeRatio -1 reads as %d, want 0", p.sizeRatio())
	}
	for _, bad := range []Options{{NumLevels: 17}, {MinMergeWidth: 1}, {MaxRuns: -1}, {MaxMergeWidth: 1}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
	if err := (&Options{}).Validate(); err != nil {
		t.Errorf("Validate(zero) = %v", err)
	}
	if New(Options{}).Name() != "tiered" {
		t.Fatal("name")
	}
}
