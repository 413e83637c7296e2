// Package compaction holds what the engine and the compaction policies share
// beyond the iface vocabulary: State, the book-keeping of the compactions
// running at once. The policies themselves live in the subpackages leveled
// and tiered; compactiontest holds their shared test harness. See
// docs/compaction.md for how planning and execution are split.
package compaction
