package backend

import (
	"fmt"
	"time"

	"github.com/nokv/nokv/iface"
)

// Set writes value under key.
func (db *DB) Set(key, value []byte, wo *WriteOptions) error {
	b := Batch{}
	b.Set(key, value)
	return db.Apply(&b, wo)
}

// Delete deletes key.
func (db *DB) Delete(key []byte, wo *WriteOptions) error {
	b := Batch{}
	b.Delete(key)
	return db.Apply(&b, wo)
}

// Apply commits a batch atomically. wo may be nil (no sync unless the store
// has SyncWrites). When Apply returns nil the batch is visible to every
// later read. The batch may be reused once Apply returns.
func (db *DB) Apply(b *Batch, wo *WriteOptions) error {
	return db.ApplyQueued(b, wo, nil)
}

// ApplyQueued is Apply, but calls queued (when not nil) as soon as b has its
// place in the commit order: a batch Applied or queued after queued returns
// commits after b. queued is called exactly once, also when b fails early,
// and before the write itself. A transaction layer picks a commit version
// (Batch.SetVersion) under its own lock and releases that lock in queued, so
// its commits are applied in version order and still share commit groups
// and fsyncs.
func (db *DB) ApplyQueued(b *Batch, wo *WriteOptions, queued func()) error {
	if len(b.entries) == 0 {
		if queued != nil {
			queued()
		}
		return nil
	}
	for i := range b.entries {
		if len(b.entries[i].Key) == 0 {
			if queued != nil {
				queued()
			}
			return fmt.Errorf("%w: empty key", iface.ErrInvalidArgument)
		}
	}
	return db.commit(b, db.opts.SyncWrites || (wo != nil && wo.Sync), queued)
}

// writable reports why the DB cannot take writes, if it cannot.
func (db *DB) writable() error {
	if db.writeFast.Load() {
		return nil
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closing {
		return iface.ErrClosed
	}
	if db.bgErr != nil {
		return fmt.Errorf("%w: %w", iface.ErrReadOnly, db.bgErr)
	}
	return nil
}

// makeRoom makes sure the active memtable can take need more bytes,
// rotating it (and the log segment with it) when it cannot, and stalling
// while too many memtables wait for flush or the compaction debt is at a
// hard limit (L0StopWritesThreshold, HardPendingCompactionBytes). It
// returns the memtable the bytes go to. head is the value-log head before
// the writes' values (the end of what a rotated memtable points to). Called
// with writeMu held.
func (db *DB) makeRoom(need int64, head iface.ValuePtr) (*memTable, error) {
	if seg := db.releaseSeg.Load(); seg > 0 {
		if err := db.log.Release(seg); err != nil {
			db.opts.Logger.Warn("releasing log segments", "below", seg, "err", err)
		}
	}
	if db.writeFast.Load() {
		// Open, healthy, no write debt: only room in the memtable to check.
		// db.mem changes only under writeMu, which the caller holds.
		if mem := db.mem; mem.reserved.Load()+need <= db.opts.MemtableSize {
			return mem, nil
		}
	}
	var stalled time.Time
	defer func() {
		if !stalled.IsZero() {
			db.stats.stalls.Add(1)
			db.stats.stallNanos.Add(int64(time.Since(stalled)))
		}
	}()
	db.mu.Lock()
	defer db.mu.Unlock()
	for {
		if db.closing {
			return nil, iface.ErrClosed
		}
		if db.bgErr != nil {
			return nil, fmt.Errorf("%w: %w", iface.ErrReadOnly, db.bgErr)
		}
		if db.stopWritesLocked() { // throttle.go: the debt is at a hard limit
			if stalled.IsZero() {
				stalled = time.Now()
			}
			db.cond.Wait()
			continue
		}
		// reserved counts bytes promised to groups still inserting, so it is
		// at least what the memtable holds.
		if db.mem.reserved.Load()+need <= db.opts.MemtableSize {
			return db.mem, nil
		}
		if db.mem.reserved.Load() == 0 {
			// A group larger than a memtable gets an empty memtable of its own size.
			db.mem = db.newMemTable(need, db.mem.logStart)
			return db.mem, nil
		}
		if len(db.imm) >= db.opts.MaxImmutableMemtables {
			if db.opts.DisableBackgroundWork {
				db.mu.Unlock()
				err := db.flushOne()
				db.mu.Lock()
				if err != nil {
					return nil, err
				}
				continue
			}
			if stalled.IsZero() {
				stalled = time.Now()
			}
			db.cond.Wait()
			continue
		}
		seg, err := db.log.Rotate()
		if err != nil {
			db.mu.Unlock()
			db.setBgErr(fmt.Errorf("log rotate: %w", err))
			db.mu.Lock()
			return nil, err
		}
		db.mem.vlogEnd = head
		db.imm = append(db.imm, db.mem)
		db.mem = db.newMemTable(need, iface.LogPosition{Segment: seg})
		db.cond.Broadcast()
		db.mu.Unlock()
		db.maybeScheduleFlush()
		db.mu.Lock()
	}
}

// Sync makes every write so far durable.
func (db *DB) Sync() error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if err := db.writable(); err != nil {
		return err
	}
	if err := db.vs.Sync(); err != nil {
		db.setBgErr(err)
		return err
	}
	if err := db.log.Sync(); err != nil {
		db.setBgErr(err)
		return err
	}
	return nil
}
