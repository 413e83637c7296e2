package manifest

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// load reads CURRENT and replays the manifest it names, without changing
// any file. It returns the manifest's path, its size and what replay found.
func load(fs vfs.FS, dir string) (string, int64, *replayed, error) {
	num, err := readCurrent(fs, dir)
	if err != nil {
		return "", 0, nil, err
	}
	path := filepath.Join(dir, manifestName(num))
	f, err := fs.Open(path)
	if err != nil {
		return "", 0, nil, fmt.Errorf("manifest: open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return "", 0, nil, fmt.Errorf("manifest: size of %s: %w", path, err)
	}
	r, err := replay(f, path, size)
	if err != nil {
		return "", 0, nil, err
	}
	if r.records == 0 {
		return "", 0, nil, iface.Corruptf(path, 0, "no complete snapshot record")
	}
	return path, size, r, nil
}

// Load returns the state the manifest of the store in dir holds, as Open
// would, without changing any file: a torn tail is skipped (Open would
// truncate it), stale files stay, and nothing is created. Damage is an error
// naming the file and offset. It suits tools that inspect a store and must
// not repair it.
func Load(fs vfs.FS, dir string) (*State, error) {
	_, _, r, err := load(fs, dir)
	if err != nil {
		return nil, err
	}
	return r.state, nil
}

// Verify checks the manifest of the store in dir without changing anything:
// CURRENT must name an existing manifest whose every record is intact and
// whose edits apply in order. Any damage, including a torn tail (which Open
// would truncate), is returned as an error naming the file and offset,
// matching iface.ErrCorruption.
func Verify(fs vfs.FS, dir string) error {
	_, _, r, err := load(fs, dir)
	if err != nil {
		return err
	}
	if r.torn != nil {
		return iface.Corruptf(r.torn.File, r.torn.Offset, "torn tail, an interrupted append that Open truncates: %s", r.torn.Reason)
	}
	return nil
}

// Dump writes a human-readable description of the state the manifest of the
// store in dir holds: components, log checkpoint, next file number, last
// version and, per level, every table's id, size, entry counts and key range
// (user keys quoted, with their versions). A torn tail is noted, not fatal;
// other damage is returned as an error. Dump changes no file.
func Dump(fs vfs.FS, dir string, w io.Writer) error {
	path, size, r, err := load(fs, dir)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "manifest %s: %d edits, %d bytes\n", path, r.records, size)
	if r.torn != nil {
		fmt.Fprintf(bw, "torn tail at offset %d (Open truncates it): %s\n", r.torn.Offset, r.torn.Reason)
	}
	writeState(bw, r.state)
	return bw.Flush()
}

func writeState(w io.Writer, s *State) {
	if len(s.Components) == 0 {
		fmt.Fprintf(w, "components: none\n")
	} else {
		fmt.Fprintf(w, "components:\n")
		names := make([]string, 0, len(s.Components))
		for name := range s.Components {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(w, "  %s = %q\n", name, s.Components[name])
		}
	}
	fmt.Fprintf(w, "log checkpoint: segment %d, offset %d\n", s.LogCheckpoint.Segment, s.LogCheckpoint.Offset)
	fmt.Fprintf(w, "next file number: %d\n", s.NextFileNum)
	fmt.Fprintf(w, "last version: %d\n", s.LastVersion)
	if s.ValueLogHead != (iface.ValuePtr{}) {
		fmt.Fprintf(w, "value-log head: segment %d offset %d\n", s.ValueLogHead.Segment, s.ValueLogHead.Offset)
	}
	if len(s.ValueSegments) > 0 {
		fmt.Fprintf(w, "value-log segments: %d live: %s\n", len(s.ValueSegments), fmtSegments(s.ValueSegments))
	}
	fmt.Fprintf(w, "tables: %d\n", s.NumTables())
	for level := 0; level < max(len(s.Levels), len(s.Ingest)); level++ {
		if level < len(s.Ingest) {
			for shard, tables := range s.Ingest[level] {
				if len(tables) > 0 {
					writeTables(w, fmt.Sprintf("L%d ingest shard %d", level, shard), tables)
				}
			}
		}
		if level < len(s.Levels) && len(s.Levels[level]) > 0 {
			writeTables(w, fmt.Sprintf("L%d", level), s.Levels[level])
		}
	}
}

// writeTables lists the tables of one level's main run or ingest shard, in
// read order; seq is shown where it differs from the id.
func writeTables(w io.Writer, name string, tables []iface.TableMeta) {
	var bytes int64
	for _, t := range tables {
		bytes += t.Size
	}
	fmt.Fprintf(w, "%s: %d tables, %d bytes\n", name, len(tables), bytes)
	for _, t := range tables {
		seq := ""
		if t.Seq != 0 && t.Seq != t.ID {
			seq = fmt.Sprintf(" seq=%d", t.Seq)
		}
		fmt.Fprintf(w, "  %06d%s size=%d entries=%d deletions=%d versions=[%d,%d] keys=%s .. %s\n",
			t.ID, seq, t.Size, t.Entries, t.Deletions, t.MinVersion, t.MaxVersion, fmtKey(t.Smallest), fmtKey(t.Largest))
	}
}

// fmtKey prints an internal key as a quoted user key and its version.
func fmtKey(k []byte) string {
	if len(k) < iface.TrailerLen {
		return fmt.Sprintf("%q(no version)", k)
	}
	return fmt.Sprintf("%q@%d", iface.UserKey(k), iface.Version(k))
}

// fmtSegments lists segment numbers, runs of consecutive numbers as ranges:
// "1-4 7 9-12".
func fmtSegments(segs []uint32) string {
	var b strings.Builder
	for i := 0; i < len(segs); {
		j := i
		for j+1 < len(segs) && segs[j+1] == segs[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", segs[i], segs[j])
		} else {
			fmt.Fprintf(&b, "%d", segs[i])
		}
		i = j + 1
	}
	return b.String()
}
