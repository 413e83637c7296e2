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
// size S of the largest level, each level above it a LevelMultiplier-th of
// the one below, and the base level is the shallowest level whose target
// still reaches BaseLevelSize (never deeper than the shallowest non-empty
// level). A small store therefore compacts L0 straight into the last level,
// and a level is added above the base only when the tree has grown by
// LevelMultiplier.
//
// Pick scores L0 by table count and bytes over their triggers and every level
// from the base down by compensated bytes over target, orders the levels with
// a score of at least 1 by priority (a level's score divided by the next
// level's when that one is over target too) and returns the first plan it can
// make without touching a busy table. From L0 it takes the oldest tables (up
// to L0MaxInputs) with the overlapping tables of the base level; from a deeper
// level, the one table whose overlap with the next level is smallest for its
// size, with that overlap. docs/compaction.md holds the full rules and the
// design of the L0 ingest buffer that will sit between L0 and the levels.
//
// The policy is a pure function of the snapshot: no I/O, deterministic, safe
// for concurrent use.
package leveled

import (
	"fmt"

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
}

// Default values of Options.
const (
	DefaultNumLevels       = 7
	DefaultL0Trigger       = 4
	DefaultBaseLevelSize   = 256 << 20
	DefaultLevelMultiplier = 10
	maxLevels              = 16
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
}

// Validate reports fields that EnsureDefaults would silently replace
// (negative values, NumLevels outside 2..16, LevelMultiplier of 1).
func (o *Options) Validate() error {
	switch {
	case o.NumLevels != 0 && (o.NumLevels < 2 || o.NumLevels > maxLevels):
		return fmt.Errorf("%w: leveled NumLevels %d is outside 2..%d", iface.ErrInvalidArgument, o.NumLevels, maxLevels)
	case o.L0Trigger < 0, o.L0TriggerBytes < 0, o.L0MaxInputs < 0, o.BaseLevelSize < 0:
		return fmt.Errorf("%w: leveled options must not be negative: %+v", iface.ErrInvalidArgument, *o)
	case o.LevelMultiplier != 0 && o.LevelMultiplier < 2:
		return fmt.Errorf("%w: leveled LevelMultiplier %d is below 2", iface.ErrInvalidArgument, o.LevelMultiplier)
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
func (l *Leveled) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	sh := l.Shape(s)
	for _, lvl := range sh.candidates() {
		var plan *iface.CompactionPlan
		if lvl == 0 {
			plan = l.planL0(s, sh)
		} else {
			plan = l.planLevel(s, sh, lvl)
		}
		if plan != nil {
			plan.Score = sh.Scores[lvl]
			return plan
		}
	}
	return nil
}
