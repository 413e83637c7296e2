package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nokv/nokv/registry"
)

// TestBenchMatrix runs --matrix on a tiny workload and checks there is a
// table row and a chart point per registry combination, with non-zero
// figures. It asserts nothing about speed.
func TestBenchMatrix(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	stdout := mustRun(t, "bench", "--matrix", "--matrix-reps", "2", "--keys", "1500", "--value-size", "1200",
		"--memtable-size", "65536", "--matrix-out", out, "--workloads", "fillrandom,readrandom,scan")
	md, err := os.ReadFile(filepath.Join(out, "matrix.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != stdout {
		t.Errorf("stdout is not matrix.md")
	}
	combos := registry.Builtin().Combinations()
	for _, c := range combos {
		prefix := "| " + c.Memtable + " | " + c.Compaction + " | " + c.ValueStore + " | "
		var row string
		for _, line := range strings.Split(string(md), "\n") {
			if strings.HasPrefix(line, prefix) {
				row = line
			}
		}
		if row == "" {
			t.Errorf("no row for %s in:\n%s", c, md)
			continue
		}
		cells := strings.Split(strings.Trim(row, "| "), " | ")
		if len(cells) != 3+3+3 {
			t.Errorf("row %q has %d cells", row, len(cells))
			continue
		}
		for _, cell := range cells[3:] {
			if strings.HasPrefix(cell, "0 ") || strings.HasPrefix(cell, "0<") || cell == "0.00" || cell == "0 B" {
				t.Errorf("%s: zero figure %q in %q", c, cell, row)
			}
		}
	}

	svg, err := os.ReadFile(filepath.Join(out, "matrix.svg"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Circles []struct{} `xml:"circle"`
		Texts   []string   `xml:"text"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("matrix.svg is not XML: %v", err)
	}
	if want := 2 * len(combos); len(doc.Circles) != want { // a point and a legend mark each
		t.Errorf("%d circles in the chart, want %d", len(doc.Circles), want)
	}
	for _, c := range combos {
		if !strings.Contains(string(svg), comboName(c)) {
			t.Errorf("chart does not name %s", comboName(c))
		}
	}
}

func TestBenchMatrixRejectsComponents(t *testing.T) {
	t.Parallel()
	code, _, errOut := nokvRun(t, "bench", "--matrix", "--memtable", "btree", "--keys", "10")
	if code != exitUsage || !strings.Contains(errOut, "every combination") {
		t.Errorf("exit %d, stderr %q; want a usage error", code, errOut)
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		max, top float64
		n        int
	}{{1.21, 1.4, 8}, {57712, 60000, 7}, {0, 1.2, 7}, {3.7, 4, 5}} {
		ticks, top := niceTicks(c.max)
		if top < c.max || ticks[0] != 0 || ticks[len(ticks)-1] != top {
			t.Errorf("niceTicks(%v) = %v, %v", c.max, ticks, top)
		}
	}
}
