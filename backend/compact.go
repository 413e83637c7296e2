package backend

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/manifest"
)

// filter decides, entry by entry in iteration order, which versions a flush
// or compaction keeps. The snapshots split versions into stripes: a stripe
// is the versions seen by one snapshot and no older one (versions above every
// snapshot form the last stripe, seen by new readers). Only the newest
// version of a user key in each stripe can ever be read, so the rest are
// dropped. A tombstone is dropped too when nothing older can lie below it
// (bottom reports that no deeper level holds the key) and no snapshot older
// than it exists.
type filter struct {
	snaps   []uint64 // ascending
	bottom  func(userKey []byte) bool
	prevKey []byte
	prevStr int
	discard map[uint32]int64 // value-store bytes dropped, per segment
	dropped int64
}

func (db *DB) newFilter(bottom func([]byte) bool, _ int) *filter {
	return &filter{snaps: db.snaps.versions(), bottom: bottom, discard: map[uint32]int64{}}
}

// keep reports whether the entry (ikey, value) is kept.
func (f *filter) keep(ikey, value []byte) bool {
	uk, v := iface.UserKey(ikey), iface.Version(ikey)
	stripe := sort.Search(len(f.snaps), func(i int) bool { return f.snaps[i] >= v })
	if f.prevKey != nil && bytes.Equal(uk, f.prevKey) {
		if stripe == f.prevStr {
			f.drop(value)
			return false
		}
	} else {
		f.prevKey = append(f.prevKey[:0], uk...)
	}
	f.prevStr = stripe
	if stripe == 0 && f.bottom != nil && len(value) > 0 && iface.Kind(value[0]).Base() == iface.KindDelete && f.bottom(uk) {
		f.dropped++
		return false
	}
	return true
}

func (f *filter) drop(value []byte) {
	f.dropped++
	if kind, _, payload, err := iface.DecodeValue(value); err == nil && kind == iface.KindPointer {
		if p, err := iface.DecodeValuePtr(payload); err == nil {
			f.discard[p.Segment] += int64(p.Len)
		}
	}
}

// writeTables writes the entries of it that f keeps into new tables at level
// (cut at TargetTableSize on user-key boundaries when cut is set), syncs
// them and their directory, and opens them. On error it removes what it
// wrote.
func (db *DB) writeTables(it iface.Iterator, f *filter, cut bool) (outs []*tableHandle, err error) {
	var (
		b       iface.TableBuilder
		file    interface{ Close() error }
		id      uint64
		lastKey []byte
		wantCut bool
	)
	defer func() {
		if err != nil {
			if b != nil {
				b.Abort()
				_ = file.Close()
				_ = db.opts.FS.Remove(tableName(db.dir, id))
			}
			db.dropOutputs(outs)
			outs = nil
		}
	}()
	finish := func() error {
		props, err := b.Finish()
		b = nil
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = db.opts.FS.Remove(tableName(db.dir, id))
			return err
		}
		h, err := db.openTable(iface.TableMeta{
			ID: id, Size: int64(props.FileSize), Smallest: props.Smallest, Largest: props.Largest,
			Entries: props.Entries, Deletions: props.Deletions, MinVersion: props.MinVersion, MaxVersion: props.MaxVersion,
		})
		if err != nil {
			_ = db.opts.FS.Remove(tableName(db.dir, id))
			return err
		}
		outs = append(outs, h)
		return nil
	}
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if !f.keep(k, v) {
			continue
		}
		if b != nil && wantCut && !iface.SameUserKey(k, lastKey) {
			if err := finish(); err != nil {
				return outs, err
			}
			wantCut = false
		}
		if b == nil {
			id = db.nextFile.Add(1) - 1
			fh, err := db.opts.FS.Create(tableName(db.dir, id))
			if err != nil {
				return outs, fmt.Errorf("create table: %w", err)
			}
			file = fh
			b = db.opts.TableFormat.NewBuilder(fh)
		}
		if err := b.Add(k, v); err != nil {
			return outs, fmt.Errorf("table %d: %w", id, err)
		}
		lastKey = append(lastKey[:0], k...)
		if cut && b.EstimatedSize() >= db.opts.TargetTableSize {
			wantCut = true
		}
	}
	if err := it.Err(); err != nil {
		return outs, err
	}
	if b != nil {
		if err := finish(); err != nil {
			return outs, err
		}
	}
	if len(outs) > 0 {
		if err := db.opts.FS.SyncDir(db.dir); err != nil {
			return outs, fmt.Errorf("sync dir: %w", err)
		}
	}
	return outs, nil
}

// dropOutputs closes and deletes tables that never made it into a version.
// After a failed manifest edit use forgetOutputs instead: the edit may have
// reached the disk, so the files must stay until a restart settles it (Open
// removes tables the manifest does not list).
func (db *DB) dropOutputs(outs []*tableHandle) { db.closeOutputs(outs, true) }

func (db *DB) forgetOutputs(outs []*tableHandle) { db.closeOutputs(outs, false) }

func (db *DB) closeOutputs(outs []*tableHandle, remove bool) {
	for _, h := range outs {
		_ = h.t.Close()
		if remove {
			_ = db.opts.FS.Remove(tableName(db.dir, h.meta.ID))
		}
	}
}

func (db *DB) maybeScheduleCompaction() {
	if db.opts.DisableBackgroundWork {
		return
	}
	select {
	case db.compactCh <- struct{}{}:
	default:
	}
}

func (db *DB) compactLoop() {
	defer db.bgWG.Done()
	for {
		db.mu.RLock()
		stop := db.closing || db.bgErr != nil
		db.mu.RUnlock()
		if stop {
			return
		}
		did, err := db.compactOnce()
		if err != nil {
			if !errors.Is(err, iface.ErrClosed) {
				db.setBgErr(fmt.Errorf("compaction: %w", err))
			}
			return
		}
		if !did {
			<-db.compactCh
		}
	}
}

// Compact runs compactions until the policy asks for none.
func (db *DB) Compact() error {
	for {
		if err := db.writable(); err != nil {
			return err
		}
		did, err := db.compactOnce()
		if err != nil {
			db.setBgErr(fmt.Errorf("compaction: %w", err))
			return err
		}
		if !did {
			return nil
		}
	}
}

// CompactAll flushes the memtables and merges every table into the last
// level in one compaction, dropping every version no snapshot can see and
// every tombstone with nothing below it. It waits for running compactions
// to finish first. Afterwards value-log discard statistics are complete, so
// GC sees all the garbage. It rewrites the whole store: a tool for
// operators and tests, not for a hot path.
func (db *DB) CompactAll() error {
	if err := db.Flush(); err != nil {
		return err
	}
	last := db.opts.CompactionPolicy.NumLevels() - 1
	db.mu.Lock()
	for len(db.busy) > 0 && !db.closing && db.bgErr == nil {
		db.cond.Wait()
	}
	db.mu.Unlock()
	_, err := db.compactWith(func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
		plan := &iface.CompactionPlan{OutputLevel: last, Reason: "manual: compact all"}
		n := 0
		for l, ts := range s.Levels {
			in := iface.CompactionInput{Level: l}
			for _, t := range ts {
				if s.Busy[t.ID] {
					return nil
				}
				in.Tables = append(in.Tables, t.ID)
				n++
			}
			if len(in.Tables) > 0 {
				plan.Inputs = append(plan.Inputs, in)
			}
		}
		if n == 0 || (len(plan.Inputs) == 1 && plan.Inputs[0].Level == last) && n == 1 {
			return nil
		}
		return plan
	})
	if err != nil {
		db.setBgErr(fmt.Errorf("compaction: %w", err))
	}
	return err
}

// compactOnce asks the policy for a plan and runs it. It reports whether
// there was one.
func (db *DB) compactOnce() (bool, error) {
	return db.compactWith(db.opts.CompactionPolicy.Pick)
}

// compactWith runs the plan pick returns, if any.
func (db *DB) compactWith(pick func(*iface.LevelsSnapshot) *iface.CompactionPlan) (bool, error) {
	db.mu.Lock()
	v := db.current
	v.ref()
	busy := make(map[uint64]bool, len(db.busy))
	for id := range db.busy {
		busy[id] = true
	}
	db.mu.Unlock()
	defer v.unref()
	plan := pick(v.snapshot(busy))
	if plan == nil {
		return false, nil
	}
	inputs, err := db.resolvePlan(v, plan)
	if err != nil {
		return false, err
	}
	db.mu.Lock()
	for _, in := range inputs {
		for _, h := range in {
			if db.busy[h.meta.ID] || db.current != v {
				db.mu.Unlock()
				return false, nil // another compaction took it, or the plan is stale
			}
		}
	}
	for _, in := range inputs {
		for _, h := range in {
			db.busy[h.meta.ID] = true
		}
	}
	db.mu.Unlock()
	defer func() {
		db.mu.Lock()
		for _, in := range inputs {
			for _, h := range in {
				delete(db.busy, h.meta.ID)
			}
		}
		db.cond.Broadcast()
		db.mu.Unlock()
	}()
	return true, db.runCompaction(v, plan, inputs)
}

// resolvePlan turns the plan's table IDs into the version's handles, per
// input level, checking that the plan names real tables.
func (db *DB) resolvePlan(v *version, plan *iface.CompactionPlan) ([][]*tableHandle, error) {
	if plan.OutputLevel < 0 || plan.OutputLevel >= len(v.levels) {
		return nil, fmt.Errorf("policy %s planned output level %d of %d", db.opts.CompactionPolicy.Name(), plan.OutputLevel, len(v.levels))
	}
	var out [][]*tableHandle
	for _, in := range plan.Inputs {
		if in.Level < 0 || in.Level >= len(v.levels) {
			return nil, fmt.Errorf("policy %s planned input level %d", db.opts.CompactionPolicy.Name(), in.Level)
		}
		byID := make(map[uint64]*tableHandle, len(v.levels[in.Level]))
		for _, h := range v.levels[in.Level] {
			byID[h.meta.ID] = h
		}
		var hs []*tableHandle
		for _, id := range in.Tables {
			h := byID[id]
			if h == nil {
				return nil, fmt.Errorf("policy %s planned table %d, not in L%d", db.opts.CompactionPolicy.Name(), id, in.Level)
			}
			hs = append(hs, h)
		}
		out = append(out, hs)
	}
	return out, nil
}

func (db *DB) runCompaction(v *version, plan *iface.CompactionPlan, inputs [][]*tableHandle) error {
	start := time.Now()
	var all []*tableHandle
	var inBytes int64
	for _, in := range inputs {
		for _, h := range in {
			all = append(all, h)
			inBytes += h.meta.Size
		}
	}
	if len(all) == 0 {
		return nil
	}
	edit := &manifest.Edit{NextFileNum: db.nextFile.Load()}
	removed := make(map[uint64]bool)
	for i, in := range inputs {
		for _, h := range in {
			edit.DeleteTables = append(edit.DeleteTables, manifest.TableRef{Level: plan.Inputs[i].Level, ID: h.meta.ID})
			removed[h.meta.ID] = true
		}
	}
	// A single table with nothing to merge moves down by a manifest edit.
	if len(all) == 1 && !(inputs[0][0].level == 0 && len(v.levels[0]) > 1) {
		h := all[0]
		db.versionMu.Lock()
		defer db.versionMu.Unlock()
		edit.AddTables = []manifest.TableEntry{{Level: plan.OutputLevel, Meta: h.meta}}
		if err := db.manifest.Apply(edit); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		db.mu.Lock()
		h.level = plan.OutputLevel
		db.installLocked([]*tableHandle{h}, removed)
		db.cond.Broadcast()
		db.mu.Unlock()
		db.stats.moves.Add(1)
		return nil
	}

	iters := make([]iface.Iterator, 0, len(all))
	for _, in := range inputs {
		if len(in) > 0 && in[0].level > 0 {
			iters = append(iters, newLevelIter(in))
			continue
		}
		for _, h := range in {
			iters = append(iters, h.t.NewIterator())
		}
	}
	it := newMergingIter(iters)
	f := db.newFilter(func(uk []byte) bool { return !v.keyBelow(plan.OutputLevel, uk) }, plan.OutputLevel)
	outs, err := db.writeTables(it, f, true)
	if cerr := it.Close(); err == nil && cerr != nil {
		db.dropOutputs(outs)
		err = cerr
	}
	if err != nil {
		return err
	}
	db.versionMu.Lock()
	defer db.versionMu.Unlock()
	var outBytes int64
	edit.NextFileNum = db.nextFile.Load()
	for _, h := range outs {
		h.level = plan.OutputLevel
		edit.AddTables = append(edit.AddTables, manifest.TableEntry{Level: plan.OutputLevel, Meta: h.meta})
		outBytes += h.meta.Size
	}
	if err := db.manifest.Apply(edit); err != nil {
		db.forgetOutputs(outs)
		return fmt.Errorf("manifest: %w", err)
	}
	db.mu.Lock()
	db.installLocked(outs, removed)
	db.cond.Broadcast()
	db.mu.Unlock()
	db.vs.AddDiscard(f.discard)
	db.stats.compactions.Add(1)
	db.stats.compactBytesIn.Add(inBytes)
	db.stats.compactBytesOut.Add(outBytes)
	db.stats.compactNanos.Add(int64(time.Since(start)))
	db.opts.Logger.Debug("compaction", "reason", plan.Reason, "inputs", len(all), "outputs", len(outs),
		"bytesIn", inBytes, "bytesOut", outBytes, "dropped", f.dropped)
	return nil
}
