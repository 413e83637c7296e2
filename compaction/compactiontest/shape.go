package compactiontest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/nokv/nokv/iface"
)

// ParseShape reads a level shape from golden-file input lines:
//
//	L0 9:64M:a-f 8:64M:c-k        L0 newest first
//	L6 1:1G:a-m 2:900M:n-z        deeper levels in key order, not overlapping
//	L5 3:10M:a-c:1000/600         optional entries/deletions
//	busy 8 2                      tables being compacted
//
// A table is id:size:smallest-largest with user keys (no '-' or ':' in
// them); sizes take the suffixes K, M, G, T. Levels not listed are empty; the
// snapshot has numLevels levels.
func ParseShape(lines []string, numLevels int) (*iface.LevelsSnapshot, error) {
	s := &iface.LevelsSnapshot{Levels: make([][]iface.TableMeta, numLevels), Busy: map[uint64]bool{}}
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
		lvl, err := strconv.Atoi(strings.TrimPrefix(f[0], "L"))
		if err != nil || !strings.HasPrefix(f[0], "L") || lvl < 0 || lvl >= numLevels {
			return nil, fmt.Errorf("line %q: want L<level> with a level below %d, or busy", line, numLevels)
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
			ts := s.Levels[lvl]
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
	return s, nil
}

func parseTable(spec string) (iface.TableMeta, error) {
	f := strings.Split(spec, ":")
	if len(f) != 3 && len(f) != 4 {
		return iface.TableMeta{}, fmt.Errorf("table %q: want id:size:smallest-largest[:entries/deletions]", spec)
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
	if len(f) == 4 {
		e, d, ok := strings.Cut(f[3], "/")
		ne, err1 := strconv.ParseUint(e, 10, 64)
		nd, err2 := strconv.ParseUint(d, 10, 64)
		if !ok || err1 != nil || err2 != nil {
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

// FormatPlan prints a plan for golden files:
//
//	compact L0 [9 8] + L6 [1] -> L6
//	reason: ...
//	score: 1.25
func FormatPlan(p *iface.CompactionPlan) string {
	if p == nil {
		return "plan: none"
	}
	var b strings.Builder
	b.WriteString("compact")
	for i, in := range p.Inputs {
		if i > 0 {
			b.WriteString(" +")
		}
		fmt.Fprintf(&b, " L%d %v", in.Level, in.Tables)
	}
	fmt.Fprintf(&b, " -> L%d\nreason: %s\nscore: %.2f", p.OutputLevel, p.Reason, p.Score)
	return b.String()
}
