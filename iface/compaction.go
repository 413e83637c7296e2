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
}

// LevelsSnapshot is an immutable picture of the LSM tree handed to a policy.
// Levels[0] is L0, newest table first (tables may overlap); in every deeper
// level tables are sorted by Smallest and do not overlap.
type LevelsSnapshot struct {
	Levels [][]TableMeta
	// Busy holds the IDs of tables already being compacted; a plan must not
	// name them.
	Busy map[uint64]bool
}

// CompactionInput is the set of tables a plan takes from one level.
type CompactionInput struct {
	Level  int
	Tables []uint64
}

// CompactionPlan says what to compact. The engine resolves the table IDs,
// merges the inputs, writes the outputs to OutputLevel and installs the
// result with one manifest edit.
type CompactionPlan struct {
	Inputs      []CompactionInput
	OutputLevel int
	Reason      string  // why, for stats and logs ("L0 files", "level size", ...)
	Score       float64 // urgency; > 1 means the shape is out of bounds
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
