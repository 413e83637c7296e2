package backend

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/manifest"
	"github.com/nokv/nokv/sstable"
	"github.com/nokv/nokv/vfs"
	"github.com/nokv/nokv/vlog"
	"github.com/nokv/nokv/wal"
)

// Check verifies a closed store without changing it: the manifest's records,
// every log segment's records, every table's checksums and structure, and
// the invariants that tie them together (every table the manifest lists
// exists with its recorded size, tables of a level's main run below L0 are
// sorted and do not overlap, ingest-buffer shards are newest first, no table
// file is missing from the manifest). It returns
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
	for l, shards := range state.Ingest {
		for sh, ts := range shards {
			for i, meta := range ts {
				listed[meta.ID] = true
				if err := checkTable(fs, o.TableFormat, dir, meta); err != nil {
					problems = append(problems, err)
				}
				if i > 0 && ts[i-1].OrderSeq() < meta.OrderSeq() {
					problems = append(problems, fmt.Errorf("L%d ingest shard %d: tables %d and %d out of order", l, sh, ts[i-1].ID, meta.ID))
				}
			}
		}
	}
	if state.Components["valuestore"] == vlog.Name {
		problems = append(problems, checkValueLog(fs, o.TableFormat, dir, state)...)
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

// checkValueLog verifies every value-log record and that the newest version
// of every key, if it is a pointer, resolves. The newest version is the last
// one in the write-ahead log past the checkpoint, else the newest in the
// tables. (Older versions may point into segments GC has collected: no
// reader can reach them once the store is closed.)
func checkValueLog(fs vfs.FS, format iface.TableFormat, dir string, state *manifest.State) []error {
	vdir := filepath.Join(dir, "vlog")
	if err := vlog.Verify(fs, vdir); err != nil {
		return []error{err}
	}
	vs, err := vlog.OpenReadOnly(fs, vdir)
	if err != nil {
		return []error{fmt.Errorf("open value log: %w", err)}
	}
	defer vs.Close()
	var problems []error
	// Every segment the manifest records live must exist. (A file below
	// the head that is not live is a GC's leftover, removed at Open.)
	have := map[uint32]bool{}
	for _, si := range vs.Segments() {
		have[si.Number] = true
	}
	for _, n := range state.ValueSegments {
		if !have[n] {
			problems = append(problems, fmt.Errorf("value-log segment %d is live in the manifest but has no file in %s", n, vdir))
		}
	}
	var buf []byte
	resolve := func(uk []byte, stored []byte) {
		kind, exp, payload, err := iface.DecodeValue(stored)
		if err != nil || kind != iface.KindPointer || len(problems) >= 10 {
			return
		}
		if exp != 0 && exp <= uint64(time.Now().Unix()) {
			return // no reader follows it, and value-log GC drops expired values
		}
		p, err := iface.DecodeValuePtr(payload)
		if err == nil {
			buf, err = vs.Read(p, buf[:0])
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("key %q: value pointer %+v does not resolve: %w", uk, p, err))
		}
	}
	// The log's newest entries win over the tables'.
	inLog := map[string][]byte{}
	var entries []iface.Entry
	_ = wal.Read(fs, dir, state.LogCheckpoint, func(_ iface.LogPosition, rec []byte) error {
		for rest := rec; len(rest) > 0; {
			_, es, r, err := decodeBatch(rest, entries)
			if err != nil {
				return err // reported by wal.Verify or Open
			}
			for _, e := range es {
				inLog[string(e.Key)] = iface.EncodeValue(nil, e.Kind, e.ExpiresAt, e.Value)
			}
			entries, rest = es, r
		}
		return nil
	})
	for k, stored := range inLog {
		resolve([]byte(k), stored)
	}
	var iters []iface.Iterator
	all := slices.Clone(state.Levels)
	for _, shards := range state.Ingest {
		all = append(all, shards...)
	}
	for l, metas := range all {
		for _, meta := range metas {
			name := tableName(dir, meta.ID)
			f, err := fs.Open(name)
			if err != nil {
				return []error{err}
			}
			t, err := format.Open(f, name, meta.ID, meta.Size)
			if err != nil {
				return []error{err}
			}
			defer t.Close()
			_ = l
			iters = append(iters, t.NewIterator())
		}
	}
	it := newMergingIter(iters)
	defer it.Close()
	var prev []byte
	for ok := it.First(); ok && len(problems) < 10; ok = it.Next() {
		uk := iface.UserKey(it.Key())
		if prev != nil && bytes.Equal(uk, prev) {
			continue // an older version
		}
		prev = append(prev[:0], uk...)
		if _, ok := inLog[string(uk)]; !ok {
			resolve(uk, it.Value())
		}
	}
	if err := it.Err(); err != nil {
		problems = append(problems, err)
	}
	return problems
}
