package backend

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nokv/nokv/compaction"
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
	select {
	case db.moveCh <- struct{}{}:
	default:
	}
}

// compactLoop is a compaction worker: it runs the plans pick makes (the
// policy's Pick, or for the move worker its PickMove) whenever wake
// signals, until Close.
func (db *DB) compactLoop(pick func(*iface.LevelsSnapshot) *iface.CompactionPlan, wake chan struct{}) {
	defer db.bgWG.Done()
	for {
		db.mu.RLock()
		stop := db.closing || db.bgErr != nil
		db.mu.RUnlock()
		if stop {
			return
		}
		did, err := db.compactWith(pick)
		if err != nil {
			if !errors.Is(err, iface.ErrClosed) {
				db.setBgErr(fmt.Errorf("compaction: %w", err))
			}
			return
		}
		if did {
			// Another worker may find a plan now that this one's tables
			// and output range are free, or beside the next plan here.
			db.maybeScheduleCompaction()
			continue
		}
		select {
		case <-wake:
		case <-db.quit:
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
		if did {
			continue
		}
		if db.compactions.Running() == 0 {
			return nil
		}
		// The plan met a running compaction (or the policy waits for one):
		// wait for those to finish, then ask again.
		db.mu.Lock()
		for db.compactions.Running() > 0 && !db.closing && db.bgErr == nil {
			db.cond.Wait()
		}
		db.mu.Unlock()
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
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		db.mu.Lock()
		for db.compactions.Running() > 0 && !db.closing && db.bgErr == nil {
			db.cond.Wait()
		}
		db.mu.Unlock()
		var did, retry bool
		did, err = db.compactWith(func(s *iface.LevelsSnapshot) *iface.CompactionPlan {
			plan, busy := compactAllPlan(s, last)
			retry = busy || plan != nil
			return plan
		})
		if err != nil || did || !retry {
			break
		}
		// A background compaction started between the wait and the plan
		// (its tables were busy, or it took them before this plan could).
	}
	if err != nil {
		db.setBgErr(fmt.Errorf("compaction: %w", err))
	}
	return err
}

// compactAllPlan merges every table of s (buffers included) into the last
// level. It returns nil if the store is at most one table there, or, with
// busy set, if a table is busy.
func compactAllPlan(s *iface.LevelsSnapshot, last int) (plan *iface.CompactionPlan, busy bool) {
	plan = &iface.CompactionPlan{OutputLevel: last, Reason: "manual: compact all"}
	n, lastOnly := 0, true
	add := func(in iface.CompactionInput, ts []iface.TableMeta) bool {
		for _, t := range ts {
			if s.Busy[t.ID] {
				return false
			}
			in.Tables = append(in.Tables, t.ID)
		}
		if len(in.Tables) > 0 {
			plan.Inputs = append(plan.Inputs, in)
			n += len(in.Tables)
			lastOnly = lastOnly && in.Level == last && !in.Ingest
		}
		return true
	}
	for l, ts := range s.Levels {
		if l < len(s.Ingest) {
			for sh, shard := range s.Ingest[l] {
				if !add(iface.CompactionInput{Level: l, Ingest: true, Shard: sh}, shard) {
					return nil, true
				}
			}
		}
		if !add(iface.CompactionInput{Level: l}, ts) {
			return nil, true
		}
	}
	if n == 0 || (n == 1 && lastOnly) {
		return nil, false
	}
	return plan, false
}

// compactOnce asks the policy for a plan and runs it. It reports whether
// there was one.
func (db *DB) compactOnce() (bool, error) {
	return db.compactWith(db.opts.CompactionPolicy.Pick)
}

// compactWith runs the plan pick returns, if any. It reports false, with no
// error, when pick plans nothing or its plan cannot run now: it was picked
// from a version that is no longer current (stale: a flush or compaction
// finished in between), or compaction.State refuses it because a table is
// busy or its output range meets a running compaction's at the same output.
func (db *DB) compactWith(pick func(*iface.LevelsSnapshot) *iface.CompactionPlan) (bool, error) {
	for attempt := 0; ; attempt++ {
		db.mu.RLock()
		v := db.current
		v.ref()
		db.mu.RUnlock()
		plan := pick(v.snapshot(db.compactions.Busy()))
		if plan == nil {
			v.unref()
			return false, nil
		}
		inputs, err := db.resolvePlan(v, plan)
		if err != nil {
			v.unref()
			return false, err
		}
		var metas []iface.TableMeta
		for _, in := range inputs {
			for _, h := range in {
				metas = append(metas, h.meta)
			}
		}
		if len(metas) == 0 {
			v.unref()
			return false, nil
		}
		f, err := db.compactions.Start(metas, compaction.OutputOf(plan))
		if err != nil {
			v.unref()
			db.opts.Logger.Trace("compaction plan refused", "reason", plan.Reason, "err", err)
			return false, nil
		}
		// Once the tables are registered nothing else can change them; the
		// version must still be the one the plan was made from, or a
		// compaction that finished in between may have replaced them or
		// written into the plan's output range.
		db.mu.RLock()
		stale := db.current != v
		db.mu.RUnlock()
		if stale {
			db.finishCompaction(f)
			v.unref()
			if attempt < 3 {
				continue
			}
			return false, nil
		}
		// Another background worker may find a plan to run beside this one.
		db.maybeScheduleCompaction()
		if hook := db.testHookBeforeCompaction.Load(); hook != nil {
			(*hook)(plan)
		}
		err = db.runCompaction(v, plan, inputs)
		db.finishCompaction(f)
		v.unref()
		return true, err
	}
}

func (db *DB) finishCompaction(f *compaction.InFlight) {
	db.mu.Lock()
	db.compactions.Finish(f)
	db.cond.Broadcast()
	db.mu.Unlock()
}

// resolvePlan turns the plan's table IDs into the version's handles, per
// input (main-run inputs sorted by smallest key), checking that the plan
// names real tables where it says they are.
func (db *DB) resolvePlan(v *version, plan *iface.CompactionPlan) ([][]*tableHandle, error) {
	name := db.opts.CompactionPolicy.Name()
	if plan.OutputLevel < 0 || plan.OutputLevel >= len(v.levels) {
		return nil, fmt.Errorf("policy %s planned output level %d of %d", name, plan.OutputLevel, len(v.levels))
	}
	if plan.OutputIngest && (plan.OutputLevel == 0 || plan.OutputShard < 0 || plan.OutputShard >= manifest.MaxIngestShards) {
		return nil, fmt.Errorf("policy %s planned output to shard %d of L%d's ingest buffer", name, plan.OutputShard, plan.OutputLevel)
	}
	seen := make(map[uint64]bool)
	var out [][]*tableHandle
	for _, in := range plan.Inputs {
		if in.Level < 0 || in.Level >= len(v.levels) {
			return nil, fmt.Errorf("policy %s planned input level %d", name, in.Level)
		}
		if in.Level > plan.OutputLevel || (in.Level == plan.OutputLevel && !in.Ingest && plan.OutputIngest) {
			return nil, fmt.Errorf("policy %s planned a compaction from L%d up to L%d (ingest buffer %v)", name, in.Level, plan.OutputLevel, plan.OutputIngest)
		}
		from, where := v.levels[in.Level], fmt.Sprintf("L%d", in.Level)
		if in.Ingest {
			from, where = nil, fmt.Sprintf("shard %d of L%d's ingest buffer", in.Shard, in.Level)
			if in.Shard >= 0 && in.Shard < len(v.ingest[in.Level]) {
				from = v.ingest[in.Level][in.Shard]
			}
		}
		byID := make(map[uint64]*tableHandle, len(from))
		for _, h := range from {
			byID[h.meta.ID] = h
		}
		var hs []*tableHandle
		for _, id := range in.Tables {
			h := byID[id]
			if h == nil {
				return nil, fmt.Errorf("policy %s planned table %d, not in %s", name, id, where)
			}
			if seen[id] {
				return nil, fmt.Errorf("policy %s planned table %d twice", name, id)
			}
			seen[id] = true
			hs = append(hs, h)
		}
		if in.Level > 0 && !in.Ingest {
			sort.Slice(hs, func(i, j int) bool { return iface.Compare(hs[i].meta.Smallest, hs[j].meta.Smallest) < 0 })
		}
		out = append(out, hs)
	}
	return out, nil
}

// checkOutputRun reports an error if adding outs to v's main run at level
// would make it overlap, once the tables in removed are gone: the plan broke
// the read-path invariant (docs/compaction.md), and running it would lose
// data.
func (db *DB) checkOutputRun(v *version, level int, removed map[uint64]bool, outs []*tableHandle) error {
	if level == 0 {
		return nil
	}
	var run []*tableHandle
	for _, h := range v.levels[level] {
		if !removed[h.meta.ID] {
			run = append(run, h)
		}
	}
	run = append(run, outs...)
	sort.Slice(run, func(i, j int) bool { return iface.Compare(run[i].meta.Smallest, run[j].meta.Smallest) < 0 })
	for i := 1; i < len(run); i++ {
		if compareUser(iface.UserKey(run[i-1].meta.Largest), iface.UserKey(run[i].meta.Smallest)) >= 0 {
			return fmt.Errorf("policy %s planned a compaction that leaves tables %d and %d overlapping in L%d",
				db.opts.CompactionPolicy.Name(), run[i-1].meta.ID, run[i].meta.ID, level)
		}
	}
	return nil
}

func (db *DB) runCompaction(v *version, plan *iface.CompactionPlan, inputs [][]*tableHandle) error {
	start := time.Now()
	var all []*tableHandle
	var inBytes int64
	var maxSeq uint64
	for _, in := range inputs {
		for _, h := range in {
			all = append(all, h)
			inBytes += h.meta.Size
			maxSeq = max(maxSeq, h.meta.OrderSeq())
		}
	}
	if len(all) == 0 {
		return nil
	}
	out := compaction.OutputOf(plan)
	edit := &manifest.Edit{NextFileNum: db.nextFile.Load()}
	removed := make(map[uint64]bool)
	for i, in := range inputs {
		for _, h := range in {
			edit.DeleteTables = append(edit.DeleteTables, manifest.TableRef{Level: plan.Inputs[i].Level, ID: h.meta.ID})
			removed[h.meta.ID] = true
		}
	}
	// A Move plan, or a single table with nothing to merge, is carried out
	// by a manifest edit: the tables keep their files and Seq.
	single := false
	for i, in := range inputs {
		if len(all) == 1 && len(in) == 1 {
			from := plan.Inputs[i]
			single = !(from.Level == 0 && len(v.levels[0]) > 1)
		}
	}
	if plan.Move || single {
		return db.moveTables(v, plan, inputs, all, edit, removed)
	}

	outs, res, err := db.mergeTables(v, plan, inputs, inBytes, removed)
	if err != nil {
		return err
	}
	db.versionMu.Lock()
	defer db.versionMu.Unlock()
	if !out.Ingest {
		if err := db.checkOutputRun(db.current, out.Level, removed, outs); err != nil {
			db.dropOutputs(outs)
			return err
		}
	}
	var outBytes int64
	edit.NextFileNum = db.nextFile.Load()
	for _, h := range outs {
		h.level, h.ingest, h.shard = out.Level, out.Ingest, out.Shard
		if out.Ingest {
			// Outputs of a merge into a buffer read as new as its newest input.
			h.meta.Seq = maxSeq
		}
		edit.AddTables = append(edit.AddTables, manifest.TableEntry{Level: out.Level, Meta: h.meta, Ingest: out.Ingest, Shard: out.Shard})
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
	db.vs.AddDiscard(res.discard)
	db.stats.compactions.Add(1)
	db.stats.compactBytesIn.Add(inBytes)
	db.stats.compactBytesOut.Add(outBytes)
	db.stats.compacted(plan, inputs, outBytes) // stats.go: per-level counters
	db.stats.compactNanos.Add(int64(time.Since(start)))
	db.opts.Logger.Debug("compaction", "reason", plan.Reason, "inputs", len(all), "outputs", len(outs),
		"bytesIn", inBytes, "bytesOut", outBytes, "dropped", res.dropped, "subcompactions", res.parts)
	return nil
}

// moveTables re-parents the plan's tables to its output with one manifest
// edit (edit already deletes them from where they are).
func (db *DB) moveTables(v *version, plan *iface.CompactionPlan, inputs [][]*tableHandle, all []*tableHandle,
	edit *manifest.Edit, removed map[uint64]bool) error {
	out := compaction.OutputOf(plan)
	db.versionMu.Lock()
	defer db.versionMu.Unlock()
	if !out.Ingest {
		if err := db.checkOutputRun(db.current, out.Level, removed, all); err != nil {
			return err
		}
	}
	for _, h := range all {
		meta := h.meta
		if out.Ingest {
			// A table in a buffer records its order explicitly (a moved L0
			// table's Seq is its file number); the handle keeps Seq 0,
			// which orders it the same.
			meta.Seq = meta.OrderSeq()
		}
		edit.AddTables = append(edit.AddTables, manifest.TableEntry{Level: out.Level, Meta: meta, Ingest: out.Ingest, Shard: out.Shard})
	}
	if err := db.manifest.Apply(edit); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	db.mu.Lock()
	for _, h := range all {
		h.level, h.ingest, h.shard = out.Level, out.Ingest, out.Shard
	}
	db.installLocked(all, removed)
	db.cond.Broadcast()
	db.mu.Unlock()
	db.stats.moves.Add(1)
	db.stats.moved(plan, inputs) // stats.go: per-level counters
	return nil
}
