// Package leveled is NoKV's default compaction policy: leveled compaction
// with dynamic level sizes.
//
// L0 holds overlapping tables straight from flushes, newest first. Every
// deeper level is one sorted run of non-overlapping tables, and for any user
// key the data in a shallower level is newer than the data in a deeper one.
//
//	L0   [t9][t8][t7][t6]          overlapping, newest first
//	L1   (empty)                   levels above the base level stay empty
//	...
//	L4   [...............]         base level: L0 compacts into it
//	L5   [........................................]
//	L6   [.................................................................]
//	                               last level: holds ~90% of the bytes
//
// Level targets are computed from the bottom up (RocksDB's
// level_compaction_dynamic_level_bytes): the last level L(N-1) is given the
// size S of the largest main run, each level above it a LevelMultiplier-th
// of the one below, and the base level is the shallowest level whose target
// still reaches BaseLevelSize (never deeper than the shallowest non-empty
// level, ingest buffers included). A small store therefore compacts L0
// straight into the last level, and a level is added above the base only
// when the tree has grown by LevelMultiplier.
//
// The base level has an L0 ingest buffer: shards of tables moved out of L0
// unchanged, read after L0 and before the base level's main run, newest Seq
// first.
//
//	L0   [t9][t8]                 move (metadata-only) into a shard
//	L4   ingest: shard 0 [t3][t2][t1]   drain: oldest tables into the main run
//	             shard 1 [t6][t5][t4]   merge inside: one sorted run
//	     main run [====][====][====]
//
// Pick scores L0 by table count and bytes over their triggers and every level
// from the base down by compensated bytes (main run and buffer) over target.
// When L0 is at a trigger it moves L0's oldest tables into a shard of the
// buffer if compacting them would rewrite much under them (IngestMoveRatio)
// and the buffer has room, and otherwise compacts them into the main run.
// Then it tries, by priority, the levels over target, drains of buffers
// (IngestDrainShare, IngestDrainRuns) and merges inside shards
// (IngestMergeRuns), and returns the first plan it can make without touching
// a busy table. From a deeper level it takes the one table whose overlap with
// the next level is smallest for its size, with that overlap.
// docs/compaction.md holds the full rules, the defaults and why.
//
// The policy is a pure function of the snapshot: no I/O, deterministic, safe
// for concurrent use.
package leveled

import (
	"fmt"
	"math"
	"sort"

	"github.com/nokv/nokv/iface"
)

// Options shape the tree. Zero fields take defaults (EnsureDefaults).
type Options struct {
	// NumLevels is the number of levels, L0 included; default 7, at most 16
	// (the engine's limit).
	NumLevels int
	// L0Trigger is the number of L0 tables that triggers an L0 compaction;
	// default 4.
	L0Trigger int
	// L0TriggerBytes is the L0 size in bytes that triggers an L0 compaction
	// whatever the table count, for L0 tables larger than usual (large
	// memtables, ingested tables); default L0Trigger × BaseLevelSize.
	L0TriggerBytes int64
	// L0MaxInputs caps the L0 tables one compaction takes (the oldest ones),
	// so that a backlog is drained in compactions of bounded size; default
	// 4 × L0Trigger.
	L0MaxInputs int
	// BaseLevelSize is the smallest byte target of any level below L0, and
	// the threshold that places the base level: the base level is the
	// shallowest level whose dynamic target is at least BaseLevelSize.
	// With StaticLevels it is the target of L1. Default 256 MiB, about the
	// size of L0 at its trigger with the engine's 64 MiB memtables, so that
	// an L0 compaction rewrites about as many base-level bytes as it brings.
	BaseLevelSize int64
	// LevelMultiplier is the size ratio between adjacent levels; default 10.
	LevelMultiplier int
	// StaticLevels turns dynamic level sizes off: L0 compacts into L1 and
	// level l (l >= 1) has the target BaseLevelSize × LevelMultiplier^(l-1).
	// For experiments; default false.
	StaticLevels bool

	// The L0 ingest buffer (docs/compaction.md).

	// DisableIngest turns the ingest buffer off: L0 compacts into the base
	// level's main run, and tables left in a buffer are drained. Default
	// false.
	DisableIngest bool
	// IngestShards is the number of shards of the base level's buffer that
	// moves fill; default 4, at most 64.
	IngestShards int
	// IngestShardChoice says which shard a move fills; default ShardByOrder.
	IngestShardChoice ShardChoice
	// IngestShardBytes is, with ShardByOrder, the bytes a shard receives
	// before the next one opens; default 0: the drain trigger
	// (IngestDrainShare of the base level's target) / IngestShards.
	IngestShardBytes int64
	// IngestMoveRatio decides between moving L0 into the buffer and
	// compacting it into the main run: L0 is moved when the bytes a
	// compaction would rewrite under it (overlapping main-run and buffer
	// tables of the base level) are at least IngestMoveRatio times the L0
	// bytes taken, or when that compaction cannot run now (its tables are
	// busy). Default 1. A tiny value (1e-9) moves whenever there is room.
	IngestMoveRatio float64
	// IngestDrainShare triggers a drain of the base level's buffer into its
	// main run when the buffer holds this share of the base level's target;
	// default 0.5, at most 1.
	IngestDrainShare float64
	// IngestDrainRuns triggers a drain when the buffer holds this many
	// sorted runs (tables with distinct Seq), whatever its bytes; default
	// 16.
	IngestDrainRuns int
	// IngestMergeRuns triggers a merge inside a shard holding this many
	// sorted runs; default 8, at least 2.
	IngestMergeRuns int
}

// ShardChoice says which shard of the ingest buffer a move fills.
type ShardChoice int

const (
	// ShardByOrder fills shards in turn: the shard holding the newest
	// tables until it holds IngestShardBytes, then the next empty one (or
	// the same one again when none is empty). Every shard is then a
	// contiguous window of ages.
	ShardByOrder ShardChoice = iota
	// ShardByBacklog moves into the shard with the fewest bytes.
	ShardByBacklog
)

// String returns "by-order" or "by-backlog".
func (c ShardChoice) String() string {
	switch c {
	case ShardByOrder:
		return "by-order"
	case ShardByBacklog:
		return "by-backlog"
	}
	return fmt.Sprintf("ShardChoice(%d)", int(c))
}

// Default values of Options.
const (
	DefaultNumLevels       = 7
	DefaultL0Trigger       = 4
	DefaultBaseLevelSize   = 256 << 20
	DefaultLevelMultiplier = 10
	maxLevels              = 16

	DefaultIngestShards     = 4
	DefaultIngestMoveRatio  = 1.0
	DefaultIngestDrainShare = 0.5
	DefaultIngestDrainRuns  = 16
	DefaultIngestMergeRuns  = 8
	maxIngestShards         = 64
)

// EnsureDefaults replaces zero and out-of-range fields by their defaults.
func (o *Options) EnsureDefaults() {
	if o.NumLevels < 2 || o.NumLevels > maxLevels {
		o.NumLevels = DefaultNumLevels
	}
	if o.L0Trigger <= 0 {
		o.L0Trigger = DefaultL0Trigger
	}
	if o.BaseLevelSize <= 0 {
		o.BaseLevelSize = DefaultBaseLevelSize
	}
	if o.L0TriggerBytes <= 0 {
		o.L0TriggerBytes = mulSat(int64(o.L0Trigger), o.BaseLevelSize)
	}
	if o.L0MaxInputs <= 0 {
		o.L0MaxInputs = 4 * o.L0Trigger
	}
	if o.LevelMultiplier <= 1 {
		o.LevelMultiplier = DefaultLevelMultiplier
	}
	if o.IngestShards <= 0 || o.IngestShards > maxIngestShards {
		o.IngestShards = DefaultIngestShards
	}
	if o.IngestShardChoice != ShardByBacklog {
		o.IngestShardChoice = ShardByOrder
	}
	if o.IngestShardBytes < 0 {
		o.IngestShardBytes = 0
	}
	if !(o.IngestMoveRatio > 0) { // also NaN
		o.IngestMoveRatio = DefaultIngestMoveRatio
	}
	if !(o.IngestDrainShare > 0 && o.IngestDrainShare <= 1) {
		o.IngestDrainShare = DefaultIngestDrainShare
	}
	if o.IngestDrainRuns <= 0 {
		o.IngestDrainRuns = DefaultIngestDrainRuns
	}
	if o.IngestMergeRuns < 2 {
		o.IngestMergeRuns = DefaultIngestMergeRuns
	}
}

// Validate reports fields that EnsureDefaults would silently replace
// (negative values, NumLevels outside 2..16, LevelMultiplier of 1,
// IngestShards above 64, an unknown IngestShardChoice, IngestDrainShare
// above 1, IngestMergeRuns of 1).
func (o *Options) Validate() error {
	switch {
	case o.NumLevels != 0 && (o.NumLevels < 2 || o.NumLevels > maxLevels):
		return fmt.Errorf("%w: leveled NumLevels %d is outside 2..%d", iface.ErrInvalidArgument, o.NumLevels, maxLevels)
	case o.L0Trigger < 0, o.L0TriggerBytes < 0, o.L0MaxInputs < 0, o.BaseLevelSize < 0:
		return fmt.Errorf("%w: leveled options must not be negative: %+v", iface.ErrInvalidArgument, *o)
	case o.LevelMultiplier != 0 && o.LevelMultiplier < 2:
		return fmt.Errorf("%w: leveled LevelMultiplier %d is below 2", iface.ErrInvalidArgument, o.LevelMultiplier)
	case o.IngestShards < 0, o.IngestShardBytes < 0, o.IngestDrainRuns < 0, o.IngestMergeRuns < 0,
		o.IngestMoveRatio < 0, o.IngestDrainShare < 0, math.IsNaN(o.IngestMoveRatio), math.IsNaN(o.IngestDrainShare):
		return fmt.Errorf("%w: leveled ingest options must not be negative: %+v", iface.ErrInvalidArgument, *o)
	case o.IngestShards > maxIngestShards:
		return fmt.Errorf("%w: leveled IngestShards %d is above %d", iface.ErrInvalidArgument, o.IngestShards, maxIngestShards)
	case o.IngestShardChoice != ShardByOrder && o.IngestShardChoice != ShardByBacklog:
		return fmt.Errorf("%w: leveled IngestShardChoice %d is unknown", iface.ErrInvalidArgument, int(o.IngestShardChoice))
	case o.IngestDrainShare > 1:
		return fmt.Errorf("%w: leveled IngestDrainShare %g is above 1", iface.ErrInvalidArgument, o.IngestDrainShare)
	case o.IngestMergeRuns == 1:
		return fmt.Errorf("%w: leveled IngestMergeRuns 1 is below 2", iface.ErrInvalidArgument)
	}
	return nil
}

// Leveled is the leveled compaction policy.
type Leveled struct {
	opts Options
}

var _ iface.CompactionPolicy = (*Leveled)(nil)

// New returns a leveled policy; invalid options take their defaults.
func New(o Options) *Leveled {
	o.EnsureDefaults()
	return &Leveled{opts: o}
}

// Name returns "leveled".
func (l *Leveled) Name() string { return "leveled" }

// NumLevels returns the number of levels the policy shapes.
func (l *Leveled) NumLevels() int { return l.opts.NumLevels }

// Options returns the options in effect, defaults filled in.
func (l *Leveled) Options() Options { return l.opts }

// Pick returns the most urgent compaction, or nil if the tree is within
// bounds or every compaction it needs touches a busy table.
//
// A move of L0 into the ingest buffer goes first whenever L0 is at a trigger:
// it is a metadata-only edit that frees the writers. Then the tasks that
// need doing (L0, drains of buffers, merges inside shards, levels over
// target) are tried in priority order; the first that can be planned
// without a busy table wins.
func (l *Leveled) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	sh := l.Shape(s)
	var l0 *iface.CompactionPlan
	if sh.Scores[0] >= 1 {
		l0 = l.planL0(s, sh)
		if l0 != nil && l0.Move && l0.OutputIngest {
			l0.Score = sh.Scores[0]
			return l0
		}
	}
	for _, t := range l.tasks(s, sh) {
		var plan *iface.CompactionPlan
		switch t.kind {
		case taskL0:
			plan = l0
		case taskDrain:
			plan = l.planDrain(s, sh, t.level)
		case taskMerge:
			plan = l.planMerge(s, sh, t.level, t.shard)
		case taskLevel:
			plan = l.planLevel(s, sh, t.level)
		}
		if plan != nil {
			plan.Score = t.score
			return plan
		}
	}
	return nil
}

// PickMove implements iface.MovePicker: the move of L0 into the base
// level's ingest buffer that Pick would plan first, if L0 is over its
// trigger and the buffer has room; nil otherwise.
func (l *Leveled) PickMove(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	sh := l.Shape(s)
	if sh.Scores[0] < 1 {
		return nil
	}
	p := l.planL0(s, sh)
	if p == nil || !p.Move || !p.OutputIngest {
		return nil
	}
	p.Score = sh.Scores[0]
	return p
}

var _ iface.MovePicker = (*Leveled)(nil)

type taskKind int

const (
	taskL0 taskKind = iota
	taskDrain
	taskMerge
	taskLevel
)

// task is something the tree needs: a compaction of L0 or of a level over
// its target, a drain of a level's ingest buffer, a merge inside a shard.
type task struct {
	kind            taskKind
	level, shard    int
	score, priority float64
}

// tasks lists what the tree needs, most urgent first. Levels keep the
// priorities of Shape; a drain or a merge inside a shard has its score as
// priority. Equal priorities keep the order L0, then per level from the top:
// drain, merges, the level itself.
func (l *Leveled) tasks(s *iface.LevelsSnapshot, sh Shape) []task {
	var out []task
	if sh.Scores[0] >= 1 {
		out = append(out, task{kind: taskL0, score: sh.Scores[0], priority: sh.Priorities[0]})
	}
	last := len(sh.Scores) - 1
	for lvl := 1; lvl <= last; lvl++ {
		if d := sh.DrainScores[lvl]; d >= 1 {
			out = append(out, task{kind: taskDrain, level: lvl, score: d, priority: d})
		}
		if lvl == sh.Base && l.ingestOn() {
			for shard, ts := range shards(s, lvl) {
				if r := runs(ts); r >= l.opts.IngestMergeRuns {
					sc := float64(r) / float64(l.opts.IngestMergeRuns)
					out = append(out, task{kind: taskMerge, level: lvl, shard: shard, score: sc, priority: sc})
				}
			}
		}
		if lvl < last && sh.Scores[lvl] >= 1 {
			out = append(out, task{kind: taskLevel, level: lvl, score: sh.Scores[lvl], priority: sh.Priorities[lvl]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].priority > out[j].priority })
	return out
}

// ingestOn reports whether the base level's ingest buffer is in use: moves
// into it, drains and merges inside it by their triggers, and plans marked
// Move when nothing is to be merged.
func (l *Leveled) ingestOn() bool { return !l.opts.DisableIngest }
