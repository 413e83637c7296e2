package compactiontest

import (
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
)

// TestValidatePlanIngest checks that ValidatePlan accepts the ingest plans of
// docs/compaction.md and rejects each way of breaking their rules.
func TestValidatePlanIngest(t *testing.T) {
	shape := []string{
		"L0 24:1M:a-z 23:1M:a-z 22:1M:m-n",
		"L6.ingest0 14:1M:a-c 12:1M:a-z",
		"L6.ingest1 13:1M:b-d 11:1M:x-z",
		"L6 1:1M:a-c 2:1M:d-n 3:1M:x-z",
	}
	s, err := ParseShape(shape, 7)
	if err != nil {
		t.Fatal(err)
	}
	in := func(lvl int, ids ...uint64) iface.CompactionInput {
		return iface.CompactionInput{Level: lvl, Tables: ids}
	}
	shard := func(lvl, sh int, ids ...uint64) iface.CompactionInput {
		return iface.CompactionInput{Level: lvl, Tables: ids, Ingest: true, Shard: sh}
	}
	for _, c := range []struct {
		name string
		plan iface.CompactionPlan
		want string // "" for a valid plan, else a part of the error
	}{
		{"move L0 suffix", iface.CompactionPlan{Inputs: []iface.CompactionInput{in(0, 23, 22)}, OutputLevel: 6, OutputIngest: true, OutputShard: 2, Move: true}, ""},
		{"move not a suffix", iface.CompactionPlan{Inputs: []iface.CompactionInput{in(0, 24, 23)}, OutputLevel: 6, OutputIngest: true, Move: true}, "not the oldest"},
		{"drain oldest", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 0, 12), shard(6, 1, 11), in(6, 1, 2, 3)}, OutputLevel: 6}, ""},
		{"drain leaves an older table", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 1, 13), in(6, 1, 2)}, OutputLevel: 6}, "table 12 would be read before"},
		{"drain overlaps the main run", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 0, 12), shard(6, 1, 11), in(6, 1)}, OutputLevel: 6}, "meets the output range"},
		{"merge inside, contiguous", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 0, 14), shard(6, 1, 13)}, OutputLevel: 6, OutputIngest: true}, ""},
		{"merge inside, a table between", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 0, 14, 12)}, OutputLevel: 6, OutputIngest: true}, "table 13 would be read"},
		{"main run into its buffer", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 0, 14), in(6, 1)}, OutputLevel: 6, OutputIngest: true}, "move up"},
		{"compaction from L0 leaves a buffer table", iface.CompactionPlan{Inputs: []iface.CompactionInput{in(0, 22), in(6, 2)}, OutputLevel: 6}, "table 12 would be read before"},
		{"move into the main run over a table", iface.CompactionPlan{Inputs: []iface.CompactionInput{in(0, 22)}, OutputLevel: 6, Move: true}, "overlaps it"},
		{"shard listed twice", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 0, 14), shard(6, 0, 12)}, OutputLevel: 6, OutputIngest: true}, "listed twice"},
		{"wrong shard", iface.CompactionPlan{Inputs: []iface.CompactionInput{shard(6, 1, 14)}, OutputLevel: 6, OutputIngest: true}, "not in L6.ingest1"},
	} {
		err := ValidatePlan(s, 7, &c.plan)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %s: %v", c.name, FormatPlan(&c.plan), err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %s: got %v, want an error with %q", c.name, FormatPlan(&c.plan), err, c.want)
		}
	}
}
