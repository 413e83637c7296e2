package compactiontest

import (
	"bytes"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// ValidatePlan checks a plan against the snapshot it was picked from, which
// must itself keep the read-path invariant: L0 newest first; then, per level,
// its ingest buffer (newest Seq first across shards) and its main run, one
// sorted run; for every user key, a table read earlier holds newer data than
// one read later. A nil plan is valid. A plan must:
//
//   - have at least one input, each naming at least one table of one place
//     (a level's main run, or one shard of its ingest buffer), no place
//     twice, no table busy or named twice, main-run tables below L0 in key
//     order;
//   - write to a level in 1..numLevels-1 (never L0: the engine orders L0 by
//     file number, so an output there would read as newer than tables flushed
//     while it was written), no shallower than any input; to an ingest shard
//     with no input from that level's main run (data never moves up);
//   - if it is a move: take a suffix of L0 (every L0 table older than one
//     taken), and when it moves into a main run, tables that overlap neither
//     each other nor a table left there;
//   - if it merges into a main run: leave no table there that meets the
//     inputs' combined key range;
//   - leave the read order right: with the outputs in place (a main run; a
//     shard, at the largest input Seq for a merge, at each table's own Seq
//     for a move), every table left behind that overlaps an input is read
//     before that input's data exactly when it was before, and no table left
//     in the output buffer shares the outputs' Seq while overlapping them.
//
// This covers the ingest rules of docs/compaction.md: a drain takes the
// oldest buffer tables among those it overlaps, a merge inside a buffer takes
// tables contiguous in age among those it overlaps, a compaction into a main
// run takes every buffer table above it that is older than its data. Given a
// valid snapshot the last rule is exact: reading order and age agree
// wherever tables overlap.
func ValidatePlan(s *iface.LevelsSnapshot, numLevels int, p *iface.CompactionPlan) error {
	if p == nil {
		return nil
	}
	if len(p.Inputs) == 0 {
		return fmt.Errorf("plan %+v has no inputs", p)
	}
	if p.OutputLevel < 1 || p.OutputLevel >= numLevels || p.OutputLevel >= len(s.Levels) {
		return fmt.Errorf("output level %d is outside 1..%d", p.OutputLevel, min(numLevels, len(s.Levels))-1)
	}
	if p.OutputIngest && p.OutputShard < 0 {
		return fmt.Errorf("output shard %d is negative", p.OutputShard)
	}
	where := locate(s)
	type placeKey struct {
		level  int
		ingest bool
		shard  int
	}
	places := map[placeKey]bool{}
	taken := map[uint64]bool{}
	var inputs []iface.TableMeta
	var l0Taken int
	for _, in := range p.Inputs {
		name := place(in.Level, in.Ingest, in.Shard)
		switch {
		case in.Level < 0 || in.Level >= len(s.Levels) || in.Level >= numLevels:
			return fmt.Errorf("input level %d is out of range", in.Level)
		case in.Ingest && (in.Level == 0 || in.Shard < 0):
			return fmt.Errorf("input %s is not an ingest shard", name)
		case places[placeKey{in.Level, in.Ingest, in.Shard}]:
			return fmt.Errorf("input %s listed twice", name)
		case len(in.Tables) == 0:
			return fmt.Errorf("input %s names no table", name)
		case in.Level > p.OutputLevel:
			return fmt.Errorf("input L%d is below the output level %d", in.Level, p.OutputLevel)
		case p.OutputIngest && !in.Ingest && in.Level == p.OutputLevel:
			return fmt.Errorf("input %s would move up into its own ingest buffer", name)
		}
		places[placeKey{in.Level, in.Ingest, in.Shard}] = true
		prev := -1
		for _, id := range in.Tables {
			w, ok := where[id]
			switch {
			case !ok || w.level != in.Level || w.ingest != in.Ingest || (in.Ingest && w.shard != in.Shard):
				return fmt.Errorf("table %d is not in %s", id, name)
			case s.Busy[id]:
				return fmt.Errorf("table %d is busy", id)
			case taken[id]:
				return fmt.Errorf("table %d named twice", id)
			case in.Level > 0 && !in.Ingest && w.idx < prev:
				return fmt.Errorf("L%d tables %v are not in key order", in.Level, in.Tables)
			}
			prev = w.idx
			taken[id] = true
			inputs = append(inputs, w.meta)
			if in.Level == 0 {
				l0Taken++
			}
		}
	}
	if p.Move && l0Taken > 0 {
		l0 := s.Levels[0]
		for _, t := range l0[len(l0)-l0Taken:] {
			if !taken[t.ID] {
				return fmt.Errorf("move takes %d L0 tables but not the oldest: table %d stays", l0Taken, t.ID)
			}
		}
	}
	lo, hi := hull(inputs)
	switch {
	case p.Move && !p.OutputIngest:
		for i, a := range inputs {
			for _, b := range inputs[i+1:] {
				if meets(a, iface.UserKey(b.Smallest), iface.UserKey(b.Largest)) {
					return fmt.Errorf("move into L%d of tables %d and %d, which overlap", p.OutputLevel, a.ID, b.ID)
				}
			}
			for _, r := range s.Levels[p.OutputLevel] {
				if !taken[r.ID] && meets(r, iface.UserKey(a.Smallest), iface.UserKey(a.Largest)) {
					return fmt.Errorf("move of table %d into L%d, where table %d overlaps it", a.ID, p.OutputLevel, r.ID)
				}
			}
		}
	case !p.OutputIngest:
		for _, r := range s.Levels[p.OutputLevel] {
			if !taken[r.ID] && meets(r, lo, hi) {
				return fmt.Errorf("L%d table %d meets the output range %q..%q", p.OutputLevel, r.ID, lo, hi)
			}
		}
	}
	var top uint64
	for _, in := range inputs {
		top = max(top, in.OrderSeq())
	}
	out := func(in iface.TableMeta) readPos {
		switch {
		case !p.OutputIngest:
			return readPos{level: p.OutputLevel, main: true}
		case p.Move:
			return readPos{level: p.OutputLevel, seq: in.OrderSeq()}
		}
		return readPos{level: p.OutputLevel, seq: top}
	}
	for id, r := range where {
		if taken[id] {
			continue
		}
		for _, in := range inputs {
			if !meets(r.meta, iface.UserKey(in.Smallest), iface.UserKey(in.Largest)) {
				continue
			}
			was := r.pos.cmp(where[in.ID].pos)
			now := r.pos.cmp(out(in))
			if now == 0 && !r.pos.main {
				return fmt.Errorf("%s table %d would share Seq %d with the output it overlaps", place(r.level, r.ingest, r.shard), id, out(in).seq)
			}
			if was != 0 && now != 0 && was != now {
				side := map[int]string{-1: "before", 1: "after"}
				return fmt.Errorf("%s table %d would be read %s the data of input %d (it was read %s it) at %s",
					place(r.level, r.ingest, r.shard), id, side[now], in.ID, side[was], place(p.OutputLevel, p.OutputIngest, p.OutputShard))
			}
		}
	}
	return nil
}

// readPos is where a table sits in the read path: L0 tables by their index
// (newest first), then per level its ingest buffer by Seq (largest first)
// and its main run.
type readPos struct {
	level int
	main  bool
	seq   uint64 // buffer tables
	idx   int    // L0 tables
}

// cmp returns -1 if a is read before b, 1 if after, 0 if they share a place
// (a main run, or buffer tables with one Seq).
func (a readPos) cmp(b readPos) int {
	switch {
	case a.level != b.level:
		return sign(a.level - b.level)
	case a.level == 0:
		return sign(a.idx - b.idx)
	case a.main != b.main:
		if a.main {
			return 1
		}
		return -1
	case a.main || a.seq == b.seq:
		return 0
	case a.seq > b.seq:
		return -1
	}
	return 1
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// tableLoc is where a snapshot holds a table.
type tableLoc struct {
	meta   iface.TableMeta
	level  int
	ingest bool
	shard  int
	idx    int
	pos    readPos
}

// locate indexes every table of s by id.
func locate(s *iface.LevelsSnapshot) map[uint64]tableLoc {
	where := map[uint64]tableLoc{}
	for lvl, ts := range s.Levels {
		for i, t := range ts {
			where[t.ID] = tableLoc{meta: t, level: lvl, idx: i, pos: readPos{level: lvl, main: lvl > 0, idx: i}}
		}
	}
	for lvl, shards := range s.Ingest {
		for sh, ts := range shards {
			for i, t := range ts {
				where[t.ID] = tableLoc{meta: t, level: lvl, ingest: true, shard: sh, idx: i, pos: readPos{level: lvl, seq: t.OrderSeq()}}
			}
		}
	}
	return where
}

// hull returns the smallest and largest user keys of ts (non-empty).
func hull(ts []iface.TableMeta) (lo, hi []byte) {
	for i, t := range ts {
		if k := iface.UserKey(t.Smallest); i == 0 || bytes.Compare(k, lo) < 0 {
			lo = k
		}
		if k := iface.UserKey(t.Largest); i == 0 || bytes.Compare(k, hi) > 0 {
			hi = k
		}
	}
	return lo, hi
}

// meets reports whether t's user-key range meets [lo, hi].
func meets(t iface.TableMeta, lo, hi []byte) bool {
	return bytes.Compare(iface.UserKey(t.Largest), lo) >= 0 && bytes.Compare(iface.UserKey(t.Smallest), hi) <= 0
}
