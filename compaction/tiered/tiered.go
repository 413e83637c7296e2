// Package tiered is NoKV's alternate compaction policy: size-tiered
// (universal) compaction. It rewrites each byte fewer times than leveled
// compaction and pays for it with more sorted runs to read and more space.
//
// A sorted run is each L0 table (newest first) and each non-empty level
// below L0 (a whole level is one run; deeper is older):
//
//	L0   [r0][r1][r2]         three runs, one per table, newest first
//	L1   (empty)
//	L2   (empty)
//	L3   [.....r3.....]
//	L4   (empty)
//	L5   [.........r4.........]
//	L6   [...............r5 (oldest)...............]
//
// Pick looks for, in this order: (a) a full merge when the runs other than the
// oldest hold more than MaxSpaceAmplificationPercent of the oldest run's
// bytes; (b) a size-ratio merge of consecutive runs of similar size, starting
// from the newest; (c) a merge of the newest runs when there are more than
// MaxRuns. Every window of runs is widened, if needed, until its output has a
// legal level (see outputLevel): no L0 output, nothing older left above it,
// nothing newer below it. docs/compaction.md holds the exact rules.
//
// The policy is a pure function of the snapshot: no I/O, deterministic, safe
// for concurrent use.
package tiered

import (
	"fmt"
	"math"

	"github.com/nokv/nokv/iface"
)

// Options are the knobs of size-tiered compaction. Zero fields take
// defaults (EnsureDefaults).
type Options struct {
	// NumLevels is the number of levels, L0 included; default 7, at most 16.
	// Each level below L0 holds at most one run, so NumLevels-1 bounds the
	// runs outside L0: when every level is taken, a merge of L0 tables must
	// take L1 too. The default equals leveled's so that a store can switch
	// between the two policies (the engine refuses a store with data below
	// the policy's last level); raise it with MaxRuns for wider trees.
	NumLevels int
	// SizeRatio is the slack, in percent, of the size-ratio rule: a window
	// of runs takes the next older run while that run holds at most
	// (100+SizeRatio)% of the window's bytes. Default 1; a negative value
	// means 0.
	SizeRatio int
	// MinMergeWidth is the fewest runs a size-ratio merge takes; default 4.
	// A wider merge rewrites each byte fewer times (about log_w of the
	// data size over the flush size, for a width w) but lets more runs
	// wait in the tree (up to w-1 of each size); 4 matches leveled's L0
	// trigger, so both policies read through about as many L0 tables.
	MinMergeWidth int
	// MaxMergeWidth is the most runs a size-ratio window grows to (the
	// output-level rule may add more); default 0, no limit.
	MaxMergeWidth int
	// MaxRuns is the number of sorted runs above which the newest runs are
	// merged whatever their sizes; default 12.
	MaxRuns int
	// MaxSpaceAmplificationPercent bounds the bytes of every run but the
	// oldest, in percent of the oldest run's bytes, before everything is
	// merged into the last level; default 200.
	MaxSpaceAmplificationPercent int
}

// Default values of Options.
const (
	DefaultNumLevels                    = 7
	DefaultSizeRatio                    = 1
	DefaultMinMergeWidth                = 4
	DefaultMaxRuns                      = 12
	DefaultMaxSpaceAmplificationPercent = 200
	maxLevels                           = 16
)

// EnsureDefaults replaces zero and out-of-range fields by their defaults.
func (o *Options) EnsureDefaults() {
	if o.NumLevels < 2 || o.NumLevels > maxLevels {
		o.NumLevels = DefaultNumLevels
	}
	if o.SizeRatio == 0 {
		o.SizeRatio = DefaultSizeRatio
	}
	if o.MinMergeWidth == 0 {
		o.MinMergeWidth = DefaultMinMergeWidth
	}
	o.MinMergeWidth = max(o.MinMergeWidth, 2)
	if o.MaxMergeWidth < 0 {
		o.MaxMergeWidth = 0
	}
	if o.MaxRuns < 1 {
		o.MaxRuns = DefaultMaxRuns
	}
	if o.MaxSpaceAmplificationPercent <= 0 {
		o.MaxSpaceAmplificationPercent = DefaultMaxSpaceAmplificationPercent
	}
}

// Validate reports fields that EnsureDefaults would silently replace, and a
// MaxMergeWidth narrower than MinMergeWidth.
func (o *Options) Validate() error {
	minWidth := o.MinMergeWidth
	if minWidth == 0 {
		minWidth = DefaultMinMergeWidth
	}
	switch {
	case o.NumLevels != 0 && (o.NumLevels < 2 || o.NumLevels > maxLevels):
		return fmt.Errorf("%w: tiered NumLevels %d is outside 2..%d", iface.ErrInvalidArgument, o.NumLevels, maxLevels)
	case o.MinMergeWidth == 1 || o.MinMergeWidth < 0:
		return fmt.Errorf("%w: tiered MinMergeWidth %d is below 2", iface.ErrInvalidArgument, o.MinMergeWidth)
	case o.MaxMergeWidth < 0, o.MaxRuns < 0, o.MaxSpaceAmplificationPercent < 0:
		return fmt.Errorf("%w: tiered options must not be negative: %+v", iface.ErrInvalidArgument, *o)
	case o.MaxMergeWidth > 0 && o.MaxMergeWidth < minWidth:
		return fmt.Errorf("%w: tiered MaxMergeWidth %d is below MinMergeWidth", iface.ErrInvalidArgument, o.MaxMergeWidth)
	}
	return nil
}

// Tiered is the size-tiered compaction policy.
type Tiered struct {
	opts Options
}

var _ iface.CompactionPolicy = (*Tiered)(nil)

// New returns a tiered policy; invalid options take their defaults.
func New(o Options) *Tiered {
	o.EnsureDefaults()
	return &Tiered{opts: o}
}

// Name returns "tiered".
func (t *Tiered) Name() string { return "tiered" }

// NumLevels returns the number of levels the policy shapes.
func (t *Tiered) NumLevels() int { return t.opts.NumLevels }

// L0Allowance is MaxRuns: tiered keeps up to that many sorted runs, most
// of them L0 tables, by design (iface.L0Allowance), so the engine does not
// slow writes for them.
func (t *Tiered) L0Allowance() int { return t.opts.MaxRuns }

// Options returns the options in effect, defaults filled in.
func (t *Tiered) Options() Options { return t.opts }

func (t *Tiered) sizeRatio() int64 { return int64(max(t.opts.SizeRatio, 0)) }

func (t *Tiered) maxMergeWidth() int {
	if t.opts.MaxMergeWidth == 0 {
		return math.MaxInt
	}
	return t.opts.MaxMergeWidth
}

// Pick returns the first compaction rule (a), (b), (c) asks for, or nil.
// Ingest buffers left by leveled are drained first (see drainBuffers).
func (t *Tiered) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	if p, found := t.drainBuffers(s); found {
		return p
	}
	runs := Runs(s, t.opts.NumLevels)
	if p := t.spaceAmp(runs); p != nil {
		return p
	}
	if p := t.sizeRatioMerge(runs); p != nil {
		return p
	}
	return t.reduceRuns(runs)
}
