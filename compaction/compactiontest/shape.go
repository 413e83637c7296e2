package compactiontest

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nokv/nokv/iface"
)

// ParseShape reads a level shape from golden-file input lines:
//
//	L0 9:64M:a-f 8:64M:c-k        L0 newest first
//	L6 1:1G:a-m 2:900M:n-z        deeper levels in key order, not overlapping
//	L5 3:10M:a-c:1000/600         optional entries/deletions
//	L6.ingest0 7:64M:a-z 6:64M:b-y   shard 0 of L6's buffer, largest Seq first
//	L6.ingest1 12:8M:a-c:seq=7    optional Seq (default: the id)
//	busy 8 2                      tables being compacted
//
// A table is id:size:smallest-largest with user keys (no '-' or ':' in
// them), then optionally :entries/deletions and :seq=N; sizes take the
// suffixes K, M, G, T. Levels and shards not listed are empty; the snapshot
// has numLevels levels, and a nil Ingest when no shard is listed (as the
// engine hands it over when every buffer is empty).
func ParseShape(lines []string, numLevels int) (*iface.LevelsSnapshot, error) {
	s := &iface.LevelsSnapshot{Levels: make([][]iface.TableMeta, numLevels), Busy: map[uint64]bool{},
		Ingest: make([][][]iface.TableMeta, numLevels)}
	seen := map[uint64]bool{}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "busy" {
			for _, v := range f[1:] {
				id, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("busy %q: %w", v, err)
				}
				s.Busy[id] = true
			}
			continue
		}
		name, shardName, isIngest := strings.Cut(f[0], ".ingest")
		lvl, err := strconv.Atoi(strings.TrimPrefix(name, "L"))
		if err != nil || !strings.HasPrefix(name, "L") || lvl < 0 || lvl >= numLevels || (isIngest && lvl == 0) {
			return nil, fmt.Errorf("line %q: want L<level> or L<level>.ingest<shard> with a level below %d, or busy", line, numLevels)
		}
		shard := 0
		if isIngest {
			if shard, err = strconv.Atoi(shardName); err != nil || shard < 0 || shard > 64 {
				return nil, fmt.Errorf("line %q: want a shard number 0..64 after .ingest", line)
			}
		}
		for _, spec := range f[1:] {
			t, err := parseTable(spec)
			if err != nil {
				return nil, err
			}
			if seen[t.ID] {
				return nil, fmt.Errorf("table %d listed twice", t.ID)
			}
			seen[t.ID] = true
			if isIngest {
				for len(s.Ingest[lvl]) <= shard {
					s.Ingest[lvl] = append(s.Ingest[lvl], nil)
				}
				ts := s.Ingest[lvl][shard]
				if len(ts) > 0 && ts[len(ts)-1].OrderSeq() < t.OrderSeq() {
					return nil, fmt.Errorf("L%d.ingest%d: table %d is newer (larger Seq) than table %d listed before it", lvl, shard, t.ID, ts[len(ts)-1].ID)
				}
				s.Ingest[lvl][shard] = append(ts, t)
				continue
			}
			ts := s.Levels[lvl]
			if lvl == 0 && len(ts) > 0 && ts[len(ts)-1].OrderSeq() <= t.OrderSeq() {
				return nil, fmt.Errorf("L0: table %d is not older (smaller Seq) than table %d listed before it", t.ID, ts[len(ts)-1].ID)
			}
			if lvl > 0 && len(ts) > 0 && bytes.Compare(iface.UserKey(ts[len(ts)-1].Largest), iface.UserKey(t.Smallest)) >= 0 {
				return nil, fmt.Errorf("L%d: table %d overlaps or precedes table %d", lvl, t.ID, ts[len(ts)-1].ID)
			}
			s.Levels[lvl] = append(ts, t)
		}
	}
	for id := range s.Busy {
		if !seen[id] {
			return nil, fmt.Errorf("busy table %d is in no level", id)
		}
	}
	if !slices.ContainsFunc(s.Ingest, func(sh [][]iface.TableMeta) bool { return len(sh) > 0 }) {
		s.Ingest = nil
	}
	return s, nil
}

func parseTable(spec string) (iface.TableMeta, error) {
	f := strings.Split(spec, ":")
	if len(f) < 3 || len(f) > 5 {
		return iface.TableMeta{}, fmt.Errorf("table %q: want id:size:smallest-largest[:entries/deletions][:seq=N]", spec)
	}
	id, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return iface.TableMeta{}, fmt.Errorf("table %q: id: %w", spec, err)
	}
	size, err := ParseSize(f[1])
	if err != nil {
		return iface.TableMeta{}, fmt.Errorf("table %q: %w", spec, err)
	}
	lo, hi, ok := strings.Cut(f[2], "-")
	if !ok || lo == "" || hi == "" || lo > hi {
		return iface.TableMeta{}, fmt.Errorf("table %q: want a key range smallest-largest", spec)
	}
	t := iface.TableMeta{
		ID: id, Size: size,
		Smallest: iface.MakeKey(nil, []byte(lo), 100), Largest: iface.MakeKey(nil, []byte(hi), 1),
		MinVersion: 1, MaxVersion: 100,
	}
	for _, x := range f[3:] {
		if v, ok := strings.CutPrefix(x, "seq="); ok {
			seq, err := strconv.ParseUint(v, 10, 64)
			if err != nil || t.Seq != 0 {
				return iface.TableMeta{}, fmt.Errorf("table %q: want one seq=N", spec)
			}
			t.Seq = seq
			continue
		}
		e, d, ok := strings.Cut(x, "/")
		ne, err1 := strconv.ParseUint(e, 10, 64)
		nd, err2 := strconv.ParseUint(d, 10, 64)
		if !ok || err1 != nil || err2 != nil || t.Entries != 0 {
			return iface.TableMeta{}, fmt.Errorf("table %q: want entries/deletions", spec)
		}
		t.Entries, t.Deletions = ne, nd
	}
	return t, nil
}

var sizeSuffixes = []struct {
	s     string
	shift uint
}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}}

// ParseSize parses a byte count with an optional suffix K, M, G or T.
func ParseSize(v string) (int64, error) {
	shift := uint(0)
	for _, sf := range sizeSuffixes {
		if strings.HasSuffix(v, sf.s) {
			v, shift = strings.TrimSuffix(v, sf.s), sf.shift
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a count of bytes with an optional suffix K, M, G or T", v)
	}
	return n << shift, nil
}

// FormatSize prints n with the largest suffix that divides it exactly.
func FormatSize(n int64) string {
	for _, sf := range sizeSuffixes {
		if n != 0 && n%(1<<sf.shift) == 0 {
			return strconv.FormatInt(n>>sf.shift, 10) + sf.s
		}
	}
	return strconv.FormatInt(n, 10)
}

// FormatPlan prints a plan for golden files, "move" for a plan with Move
// set, an ingest shard as L<level>.ingest<shard>:
//
//	compact L0 [9 8] + L6.ingest0 [5] + L6 [1] -> L6
//	move L0 [12 11] -> L6.ingest1
//	reason: ...
//	score: 1.25
func FormatPlan(p *iface.CompactionPlan) string {
	if p == nil {
		return "plan: none"
	}
	var b strings.Builder
	if p.Move {
		b.WriteString("move")
	} else {
		b.WriteString("compact")
	}
	for i, in := range p.Inputs {
		if i > 0 {
			b.WriteString(" +")
		}
		fmt.Fprintf(&b, " %s %v", place(in.Level, in.Ingest, in.Shard), in.Tables)
	}
	fmt.Fprintf(&b, " -> %s\nreason: %s\nscore: %.2f", place(p.OutputLevel, p.OutputIngest, p.OutputShard), p.Reason, p.Score)
	return b.String()
}

// place names a level's main run (L4) or one of its ingest shards (L4.ingest2).
func place(lvl int, ingest bool, shard int) string {
	if ingest {
		return fmt.Sprintf("L%d.ingest%d", lvl, shard)
	}
	return fmt.Sprintf("L%d", lvl)
}
