package iface

// TableMeta is what a compaction policy knows of a table: metadata only.
type TableMeta struct {
	ID         uint64
	Size       int64
	Smallest   []byte // internal key
	Largest    []byte // internal key
	Entries    uint64
	Deletions  uint64
	MinVersion uint64
	MaxVersion uint64
	// Seq orders tables that may overlap (L0 and ingest buffers): a larger
	// Seq holds newer data. A flushed table's Seq is its ID; a table moved
	// keeps its Seq; a table written by a merge inside an ingest buffer
	// takes the largest Seq of its inputs. 0 means "use ID".
	Seq uint64
}

// OrderSeq is t.Seq, or t.ID for tables that never had one.
func (t *TableMeta) OrderSeq() uint64 {
	if t.Seq != 0 {
		return t.Seq
	}
	return t.ID
}

// LevelsSnapshot is an immutable picture of the LSM tree handed to a policy.
// Levels[0] is L0, newest table first (tables may overlap); in every deeper
// level tables are sorted by Smallest and do not overlap.
type LevelsSnapshot struct {
	Levels [][]TableMeta
	// Ingest holds the ingest buffers: Ingest[l][s] is shard s of level l's
	// buffer, newest table (largest Seq) first. Buffer tables are read after
	// L0 and the buffers of shallower levels, before level l's main run
	// (Levels[l]); within a level's buffer, across shards, newer Seq first.
	// Nil, or shorter than Levels, where a level has no buffer.
	Ingest [][][]TableMeta
	// Busy holds the IDs of tables already being compacted; a plan must not
	// name them.
	Busy map[uint64]bool
}

// CompactionInput is the set of tables a plan takes from one level.
type CompactionInput struct {
	Level  int
	Tables []uint64
	// Ingest says the tables come from shard Shard of Level's ingest
	// buffer, not from its main run.
	Ingest bool
	Shard  int
}

// CompactionPlan says what to compact. The engine resolves the table IDs,
// merges the inputs, writes the outputs to OutputLevel and installs the
// result with one manifest edit.
type CompactionPlan struct {
	Inputs      []CompactionInput
	OutputLevel int
	// OutputIngest sends the outputs to shard OutputShard of OutputLevel's
	// ingest buffer instead of its main run. Outputs of a merge inside a
	// buffer take the largest Seq of the inputs.
	OutputIngest bool
	OutputShard  int
	// Move re-parents every input table to the output (main run or ingest
	// shard) with one metadata-only manifest edit: nothing is rewritten,
	// tables keep their Seq.
	Move   bool
	Reason string  // why, for stats and logs ("L0 files", "level size", ...)
	Score  float64 // urgency; > 1 means the shape is out of bounds
}

// CompactionPolicy chooses compactions. It is a pure function of the
// snapshot: no I/O, deterministic, safe for concurrent use.
type CompactionPolicy interface {
	// Name identifies the policy (it does not fix the on-disk format).
	Name() string
	// Pick returns the most urgent compaction, or nil if none is needed.
	Pick(s *LevelsSnapshot) *CompactionPlan
	// NumLevels is the number of levels the policy shapes.
	NumLevels() int
}

// CompactionDebt is implemented by policies that can estimate how many
// bytes compactions still have to rewrite to bring the tree within bounds.
// The engine throttles writes in proportion to it.
type CompactionDebt interface {
	PendingBytes(s *LevelsSnapshot) int64
}

// MovePicker is implemented by policies that plan metadata-only moves
// (plans with Move set: tables change place with a manifest edit and no
// rewrite, such as leveled's moves of L0 into its ingest buffer). The
// engine runs the moves PickMove offers on a worker of their own, so that
// they are not held up behind long merges on the MaxConcurrentCompactions
// workers. Like Pick it must be a pure function of the snapshot; it returns
// nil or a plan with Move set, one Pick could also have returned.
type MovePicker interface {
	PickMove(s *LevelsSnapshot) *CompactionPlan
}

// L0Allowance is implemented by policies that keep more L0 tables by design
// than an engine's write-slowdown threshold assumes (tiered keeps up to
// MaxRuns sorted runs, most of them L0 tables). The engine starts slowing
// writes for L0 tables only above the allowance, and stops them as far
// above it as its own thresholds are apart.
type L0Allowance interface {
	L0Allowance() int
}
