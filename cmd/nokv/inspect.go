package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/nokv/nokv"
	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/manifest"
	"github.com/nokv/nokv/vfs"
)

func runStats(args []string, stdout, stderr io.Writer) int {
	c := newCommand("stats", "--dir DIR [--json]",
		"Opens the store and prints the engine's statistics: the levels of the tree (tables,\n"+
			"size, the policy's target and score, read amplification, bytes compactions brought\n"+
			"in, read and wrote, write amplification), the memtables, the write throttle (compaction\n"+
			"debt and whether writes are delayed or stopped), and the store's size on disk. The\n"+
			"counters (writes, flushes, compactions, delays, ...) count from the moment this\n"+
			"command opened the store, so they are mostly zero here; 'nokv bench' prints them for\n"+
			"a run.",
		stdout, stderr)
	dir := c.dirFlag()
	asJSON := c.fs.Bool("json", false, "print backend.Stats as JSON")
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	db, err := openStore(*dir, true, stderr)
	if err != nil {
		return c.errorf("%v", err)
	}
	st := db.Stats()
	if code := closeStore(c, db, exitOK); code != exitOK {
		return code
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return c.errorf("%v", err)
		}
		return exitOK
	}
	du, err := diskUsage(*dir)
	if err != nil {
		return c.errorf("%v", err)
	}
	writeStats(stdout, st, du)
	return exitOK
}

// writeStats prints st for people.
func writeStats(w io.Writer, st nokv.Stats, du usage) {
	writeLevels(w, st)
	fmt.Fprintf(w, "\nlast version:     %d\n", st.LastVersion)
	fmt.Fprintf(w, "memtables:        %d (%s)\n", st.Memtables, humanBytes(st.MemtableBytes))
	fmt.Fprintf(w, "snapshots:        %d\n", st.Snapshots)
	fmt.Fprintf(w, "on disk:          %s in %s (%s %s, %s %s)\n",
		humanBytes(du.total), plural(du.files, "file"), plural(du.tables, "table"), humanBytes(du.tableBytes),
		plural(du.segments, "log segment"), humanBytes(du.segmentBytes))
	fmt.Fprintf(w, "since open:       %d writes in %d batches, %d gets, %d WAL bytes, %d syncs\n",
		st.Writes, st.Batches, st.Gets, st.WALBytes, st.WALSyncs)
	fmt.Fprintf(w, "                  %d flushes (%s, %v), %d compactions + %d moves (in %s, out %s, %v)\n",
		st.Flushes, humanBytes(st.FlushBytes), st.FlushTime, st.Compactions, st.TrivialMoves,
		humanBytes(st.CompactionBytesIn), humanBytes(st.CompactionBytesOut), st.CompactionTime)
	fmt.Fprintf(w, "                  %d write delays (%v), %d write stalls (%v)\n",
		st.WriteDelays, st.WriteDelayTime, st.WriteStalls, st.WriteStallTime)
	if st.UserBytes > 0 {
		fmt.Fprintf(w, "                  %s of keys and values, write amplification %.2f\n", humanBytes(st.UserBytes), st.WriteAmp)
	}
	d := st.Debt
	fmt.Fprintf(w, "write throttle:   %s (L0 debt %.2f, pending compaction %s, pressure %.2f",
		d.State, d.L0Debt, humanBytes(d.PendingBytes), d.Pressure)
	if d.DelayedWriteRate > 0 {
		fmt.Fprintf(w, ", %s/s", humanBytes(d.DelayedWriteRate))
	}
	fmt.Fprintf(w, ")\n")
	if st.CommitGroups > 0 {
		fmt.Fprintf(w, "commit groups:    %d (%.1f batches each)\n", st.CommitGroups, float64(st.Batches)/float64(st.CommitGroups))
	}
	if total := st.BlockCacheHits + st.BlockCacheMisses; total > 0 {
		fmt.Fprintf(w, "block cache:      %.1f%% hits (%d of %d)\n", 100*float64(st.BlockCacheHits)/float64(total), st.BlockCacheHits, total)
	}
	if total := st.ValueCacheHits + st.ValueCacheMisses; total > 0 {
		fmt.Fprintf(w, "value cache:      %.1f%% hits (%d of %d)\n", 100*float64(st.ValueCacheHits)/float64(total), st.ValueCacheHits, total)
	}
	if len(st.HotKeys) > 0 {
		fmt.Fprintf(w, "hot keys:        ")
		for i, k := range st.HotKeys {
			if i == 5 {
				break
			}
			fmt.Fprintf(w, " %q (%d)", k.Key, k.Count)
		}
		fmt.Fprintln(w)
	}
	if st.BackgroundError != "" {
		fmt.Fprintf(w, "background error: %s\n", st.BackgroundError)
	}
}

// writeLevels prints the shape of the tree, one row per level: tables,
// size, the policy's target and score (when it reports them), read
// amplification, and what compactions did to the level since open (bytes
// in from above, read out, written; write amplification = written / in).
// The total row counts user bytes as its input.
func writeLevels(w io.Writer, st nokv.Stats) {
	shaped, ingest := false, false
	for _, l := range st.Levels {
		shaped = shaped || l.Target > 0
		ingest = ingest || l.IngestTables > 0
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t")) }
	head := []string{"level", "tables"}
	if ingest {
		head = append(head, "ingest/runs")
	}
	head = append(head, "size")
	if shaped {
		head = append(head, "target", "score")
	}
	row(append(head, "read-amp", "in", "read", "written", "w-amp")...)
	var tables, ingestTables, ingestRuns int
	var size, written int64
	for _, l := range st.Levels {
		cells := []string{fmt.Sprintf("L%d", l.Level), fmt.Sprint(l.Tables)}
		if ingest {
			cells = append(cells, fmt.Sprintf("%d/%d", l.IngestTables, l.IngestRuns))
		}
		cells = append(cells, humanBytes(l.Bytes+l.IngestBytes))
		if shaped {
			target, score := "-", "-"
			if l.Target > 0 {
				target, score = humanBytes(l.Target), fmt.Sprintf("%.2f", l.Score)
			} else if l.Level == 0 {
				score = fmt.Sprintf("%.2f", l.Score)
			}
			cells = append(cells, target, score)
		}
		row(append(cells, fmt.Sprint(l.ReadAmp), humanBytes(l.BytesIn), humanBytes(l.BytesRead),
			humanBytes(l.BytesWritten), amp(l.WriteAmp))...)
		tables += l.Tables
		ingestTables += l.IngestTables
		ingestRuns += l.IngestRuns
		size += l.Bytes + l.IngestBytes
		written += l.BytesWritten
	}
	cells := []string{"total", fmt.Sprint(tables)}
	if ingest {
		cells = append(cells, fmt.Sprintf("%d/%d", ingestTables, ingestRuns))
	}
	cells = append(cells, humanBytes(size))
	if shaped {
		cells = append(cells, "", "")
	}
	row(append(cells, fmt.Sprint(st.ReadAmp), humanBytes(st.UserBytes), "", humanBytes(written), amp(st.WriteAmp))...)
	tw.Flush()
}

// amp renders an amplification factor, "-" when nothing was measured.
func amp(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func runManifest(args []string, stdout, stderr io.Writer) int {
	c := newCommand("manifest", "--dir DIR",
		"Prints the state the store's manifest holds: components, log checkpoint, and every\n"+
			"table per level. Reads the files only; the store is not opened (and may be open\n"+
			"in another process).",
		stdout, stderr)
	dir := c.dirFlag()
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	if err := requireStore(*dir); err != nil {
		return c.errorf("%v", err)
	}
	if err := manifest.Dump(vfs.Default, *dir, stdout); err != nil {
		return c.errorf("%v", err)
	}
	return exitOK
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	c := newCommand("check", "--dir DIR",
		"Verifies a closed store without changing it: the manifest, every log segment, every\n"+
			"table's checksums and structure, and the invariants between them. Prints each\n"+
			"problem (with the file and offset of damage) and exits 1 if there is any; prints\n"+
			"\"ok\" and a summary otherwise. Refuses a store another process holds open.",
		stdout, stderr)
	dir := c.dirFlag()
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	if err := requireStore(*dir); err != nil {
		return c.errorf("%v", err)
	}
	// Hold the store's lock while checking, so no writer changes the files
	// under the check. The LOCK file exists in every opened store; a store
	// without one is checked without it rather than creating the file.
	lockName := filepath.Join(*dir, "LOCK")
	if _, err := vfs.Default.Stat(lockName); err == nil {
		l, err := vfs.Default.Lock(lockName)
		if err != nil {
			return c.errorf("%v (is the store open in another process?)", err)
		}
		defer l.Close()
	}
	problems := backend.Check(*dir, nil)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stdout, p)
		}
		return c.errorf("%s: %s found", *dir, plural(len(problems), "problem"))
	}
	du, err := diskUsage(*dir)
	if err != nil {
		return c.errorf("%v", err)
	}
	fmt.Fprintf(stdout, "ok: %s (%s), %s (%s), manifest checked\n",
		plural(du.tables, "table"), humanBytes(du.tableBytes), plural(du.segments, "log segment"), humanBytes(du.segmentBytes))
	return exitOK
}

// usage is what a store directory holds on disk.
type usage struct {
	files, tables, segments         int
	total, tableBytes, segmentBytes int64
}

// diskUsage walks dir (with subdirectories, e.g. a value log) and sums the
// sizes of its files.
func diskUsage(dir string) (usage, error) {
	var u usage
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := info.Size()
		u.files++
		u.total += size
		switch {
		case strings.HasSuffix(d.Name(), ".sst"):
			u.tables++
			u.tableBytes += size
		case strings.HasSuffix(d.Name(), ".wal"):
			u.segments++
			u.segmentBytes += size
		}
		return nil
	})
	return u, err
}

// humanBytes renders n with a binary unit: "512 B", "1.5 KiB", "12.3 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// plural renders "1 table", "2 tables".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
