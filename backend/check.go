package backend

import (
	"fmt"
	"path/filepath"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/manifest"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vfs"
	"github.com/nokv/nokv/wal"
)

// Check verifies a closed store without changing it: the manifest's records,
// every log segment's records, every table's checksums and structure, and
// the invariants that tie them together (every table the manifest lists
// exists with its recorded size, tables of a level below L0 are sorted and
// do not overlap, no table file is missing from the manifest). It returns
// every problem found; nil means the store is sound. Damage is reported with
// the file and offset. opts supplies the FS and table format (nil: defaults).
func Check(dir string, opts *Options) []error {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.EnsureDefaults()
	if o.TableFormat == nil {
		var cache *sstable.Cache
		o.TableFormat, cache = defaultTableFormat(0)
		defer cache.Close()
	}
	fs := o.FS
	var problems []error
	if st, err := fs.Stat(dir); err != nil {
		return []error{fmt.Errorf("stat %s: %w", dir, err)}
	} else if !st.IsDir() {
		return []error{fmt.Errorf("%s: not a directory", dir)}
	}
	if err := manifest.Verify(fs, dir); err != nil {
		problems = append(problems, err)
	}
	if err := wal.Verify(fs, dir); err != nil {
		problems = append(problems, err)
	}
	state, err := manifest.Load(fs, dir)
	if err != nil {
		if len(problems) > 0 {
			return problems // Verify already reported it
		}
		return append(problems, fmt.Errorf("load manifest: %w", err))
	}
	listed := map[uint64]bool{}
	for l, ts := range state.Levels {
		for i, meta := range ts {
			listed[meta.ID] = true
			if err := checkTable(fs, o.TableFormat, dir, meta); err != nil {
				problems = append(problems, err)
			}
			if l > 0 && i > 0 {
				prev := ts[i-1]
				if iface.Compare(prev.Largest, meta.Smallest) >= 0 {
					problems = append(problems, fmt.Errorf("L%d: tables %d and %d overlap or are out of order", l, prev.ID, meta.ID))
				}
			}
		}
	}
	names, err := fs.List(dir)
	if err != nil {
		return append(problems, err)
	}
	for _, n := range names {
		if id, ok := parseTableName(n); ok && !listed[id] {
			problems = append(problems, fmt.Errorf("%s: table file not listed in the manifest (an orphan; Open removes it)", filepath.Join(dir, n)))
		}
	}
	return problems
}

func checkTable(fs vfs.FS, format iface.TableFormat, dir string, meta iface.TableMeta) error {
	name := tableName(dir, meta.ID)
	f, err := fs.Open(name)
	if err != nil {
		return fmt.Errorf("table %d listed in the manifest: %w", meta.ID, err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if size != meta.Size {
		f.Close()
		return iface.Corruptf(name, -1, "file is %d bytes, manifest records %d", size, meta.Size)
	}
	t, err := format.Open(f, name, meta.ID, size)
	if err != nil {
		return err
	}
	defer t.Close()
	if v, ok := t.(iface.Verifier); ok {
		if err := v.Verify(); err != nil {
			return err
		}
	}
	p := t.Props()
	if iface.Compare(p.Smallest, meta.Smallest) != 0 || iface.Compare(p.Largest, meta.Largest) != 0 || p.Entries != meta.Entries {
		return iface.Corruptf(name, -1, "table properties (%d entries, keys %q..%q) differ from the manifest (%d entries, keys %q..%q)",
			p.Entries, iface.UserKey(p.Smallest), iface.UserKey(p.Largest), meta.Entries, iface.UserKey(meta.Smallest), iface.UserKey(meta.Largest))
	}
	return nil
}
