package backend

import (
	"errors"
	"fmt"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/manifest"
)

func (db *DB) maybeScheduleFlush() {
	if db.opts.DisableBackgroundWork {
		return
	}
	select {
	case db.flushCh <- struct{}{}:
	default:
	}
}

func (db *DB) flushLoop() {
	defer db.bgWG.Done()
	for {
		db.mu.Lock()
		for len(db.imm) == 0 && !db.closing && db.bgErr == nil {
			db.mu.Unlock()
			<-db.flushCh
			db.mu.Lock()
			if db.closing {
				break
			}
		}
		stop := db.closing || db.bgErr != nil
		db.mu.Unlock()
		if stop {
			return
		}
		if err := db.flushOne(); err != nil {
			if !errors.Is(err, iface.ErrClosed) {
				db.setBgErr(fmt.Errorf("flush: %w", err))
			}
			return
		}
		db.maybeScheduleCompaction()
	}
}

// wake unblocks the background loops so they notice closing.
func (db *DB) wake() {
	db.maybeScheduleFlush()
	db.maybeScheduleCompaction()
}

// flushOne writes the oldest immutable memtable to an L0 table, records it
// with the new log checkpoint in one manifest edit, and drops the memtable.
func (db *DB) flushOne() error {
	db.versionMu.Lock()
	defer db.versionMu.Unlock()
	db.mu.RLock()
	if len(db.imm) == 0 {
		db.mu.RUnlock()
		return nil
	}
	mt := db.imm[0]
	next := db.mem.logStart
	if len(db.imm) > 1 {
		next = db.imm[1].logStart
	}
	db.mu.RUnlock()

	// Writers logged into this memtable before it rotated may still be
	// inserting; wait for them (a matter of microseconds).
	for mt.inflight.Load() > 0 {
		time.Sleep(20 * time.Microsecond)
	}
	start := time.Now()
	it := mt.m.NewIterator()
	f := db.newFilter(nil, 0)
	outs, err := db.writeTables(it, f, false)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	edit := &manifest.Edit{
		LogCheckpoint: &next,
		NextFileNum:   db.nextFile.Load(),
		LastVersion:   db.lastVersion.Load(),
	}
	if db.gc != nil && mt.vlogEnd != (iface.ValuePtr{}) {
		head := mt.vlogEnd
		edit.ValueLogHead = &head
		edit.AddValueSegments = db.unrecordedSegments(head)
	}
	var bytes int64
	for _, h := range outs {
		edit.AddTables = append(edit.AddTables, manifest.TableEntry{Level: 0, Meta: h.meta})
		bytes += h.meta.Size
	}
	// The tables may point at values of unsynced writes; they must be
	// durable before the tables are, or a power loss leaves dangling
	// pointers behind a checkpoint that no longer replays their records.
	if err := db.vs.Sync(); err != nil {
		db.forgetOutputs(outs)
		return fmt.Errorf("value store sync: %w", err)
	}
	if err := db.manifest.Apply(edit); err != nil {
		db.forgetOutputs(outs)
		return fmt.Errorf("manifest: %w", err)
	}
	db.mu.Lock()
	db.imm = db.imm[1:]
	db.installLocked(outs, nil)
	db.cond.Broadcast()
	db.mu.Unlock()
	db.releaseSeg.Store(next.Segment)
	if edit.ValueLogHead != nil {
		db.gcHorizon.Store(edit.ValueLogHead.Segment)
		db.noteRecordedSegments(edit.AddValueSegments)
	}
	db.vs.AddDiscard(f.discard)
	db.stats.flushes.Add(1)
	db.stats.flushBytes.Add(bytes)
	db.stats.flushNanos.Add(int64(time.Since(start)))
	return nil
}

// installLocked makes a new current version: the old one minus removed plus
// added tables (placed by their level, ingest and shard fields). Called with
// versionMu and mu held.
func (db *DB) installLocked(added []*tableHandle, removed map[uint64]bool) {
	old := db.current
	levels, ingest := old.without(removed)
	for _, h := range added {
		if h.ingest {
			for len(ingest[h.level]) <= h.shard {
				ingest[h.level] = append(ingest[h.level], nil)
			}
			ingest[h.level][h.shard] = append(ingest[h.level][h.shard], h)
		} else {
			levels[h.level] = append(levels[h.level], h)
		}
		db.tables[h.meta.ID] = h
	}
	// A table both removed and added moved level: it stays open.
	moved := make(map[uint64]bool, len(added))
	for _, h := range added {
		moved[h.meta.ID] = true
	}
	for id := range removed {
		if h := db.tables[id]; h != nil && !moved[id] {
			h.obsolete.Store(true)
			delete(db.tables, id)
		}
	}
	db.current = newVersion(levels, ingest)
	db.updateWriteFastLocked()
	if invariants {
		if err := db.current.check(); err != nil {
			panic(fmt.Sprintf("nokv: invariant broken by a version install: %v", err))
		}
	}
	old.unref()
}

// Flush rotates the active memtable, if it holds anything, and waits until
// every memtable written before the call is in a table.
func (db *DB) Flush() error {
	db.writeMu.Lock()
	if err := db.writable(); err != nil {
		db.writeMu.Unlock()
		return err
	}
	db.mu.Lock()
	if db.mem.m.Len() > 0 {
		seg, err := db.log.Rotate()
		if err != nil {
			db.mu.Unlock()
			db.writeMu.Unlock()
			db.setBgErr(fmt.Errorf("log rotate: %w", err))
			return err
		}
		db.mem.vlogEnd = db.vlogHead()
		db.imm = append(db.imm, db.mem)
		db.mem = db.newMemTable(0, iface.LogPosition{Segment: seg})
	}
	var waitFor *memTable
	if len(db.imm) > 0 {
		waitFor = db.imm[len(db.imm)-1]
	}
	db.mu.Unlock()
	db.writeMu.Unlock()
	if waitFor == nil {
		return nil
	}
	if db.opts.DisableBackgroundWork {
		for {
			db.mu.RLock()
			n := len(db.imm)
			db.mu.RUnlock()
			if n == 0 {
				return nil
			}
			if err := db.flushOne(); err != nil {
				db.setBgErr(fmt.Errorf("flush: %w", err))
				return err
			}
		}
	}
	db.maybeScheduleFlush()
	db.mu.Lock()
	defer db.mu.Unlock()
	// Memtables are flushed oldest first; wait until the newest we saw is gone.
	for {
		if db.bgErr != nil {
			return fmt.Errorf("%w: %w", iface.ErrReadOnly, db.bgErr)
		}
		if db.closing {
			return iface.ErrClosed
		}
		found := false
		for _, m := range db.imm {
			if m == waitFor {
				found = true
			}
		}
		if !found {
			return nil
		}
		db.cond.Wait()
	}
}
