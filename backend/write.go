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
// has SyncWrites). The batch may be reused once Apply returns.
func (db *DB) Apply(b *Batch, wo *WriteOptions) error {
	if len(b.entries) == 0 {
		return nil
	}
	for i := range b.entries {
		if len(b.entries[i].Key) == 0 {
			return fmt.Errorf("%w: empty key", iface.ErrInvalidArgument)
		}
	}
	sync := db.opts.SyncWrites || (wo != nil && wo.Sync)

	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	if err := db.writable(); err != nil {
		return err
	}
	last := db.lastVersion.Load()
	version := last + 1
	if b.version != 0 {
		if b.version <= last {
			return fmt.Errorf("%w: batch version %d is not above the last committed version %d",
				iface.ErrInvalidArgument, b.version, last)
		}
		version = b.version
	}
	// The value store may replace values with pointers; work on a copy of
	// the entry headers so the caller's batch is left as it was.
	db.entries = append(db.entries[:0], b.entries...)
	for i := range db.entries {
		db.entries[i].Version = version
	}
	if err := db.vs.Write(db.entries); err != nil {
		db.setBgErr(fmt.Errorf("value store write: %w", err))
		return err
	}
	db.recBuf = encodeBatch(db.recBuf[:0], version, db.entries)
	if err := db.makeRoom(int64(len(db.recBuf)) + int64(len(db.entries))*entryOverhead); err != nil {
		return err
	}
	// A failed append may leave part of a record in the log; later records
	// would then sit behind damage. Stop taking writes instead.
	if _, err := db.log.Append(db.recBuf); err != nil {
		db.setBgErr(fmt.Errorf("log append: %w", err))
		return err
	}
	db.stats.walBytes.Add(int64(len(db.recBuf)))
	if sync {
		if err := db.vs.Sync(); err != nil {
			db.setBgErr(fmt.Errorf("value store sync: %w", err))
			return err
		}
		if err := db.log.Sync(); err != nil {
			db.setBgErr(fmt.Errorf("log sync: %w", err))
			return err
		}
		db.stats.walSyncs.Add(1)
	}
	db.mu.RLock()
	mem := db.mem
	db.mu.RUnlock()
	if err := db.insert(mem, version, db.entries); err != nil {
		// The record is in the log; the memtable is inconsistent with it.
		db.setBgErr(err)
		return err
	}
	db.lastVersion.Store(version)
	db.stats.writes.Add(int64(len(db.entries)))
	db.stats.batches.Add(1)
	return nil
}

// writable reports why the DB cannot take writes, if it cannot.
func (db *DB) writable() error {
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
// while too many memtables wait for flush or L0 holds too many tables.
// Called with writeMu held.
func (db *DB) makeRoom(need int64) error {
	if seg := db.releaseSeg.Load(); seg > 0 {
		if err := db.log.Release(seg); err != nil {
			db.opts.Logger.Warn("releasing log segments", "below", seg, "err", err)
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
			return iface.ErrClosed
		}
		if db.bgErr != nil {
			return fmt.Errorf("%w: %w", iface.ErrReadOnly, db.bgErr)
		}
		if !db.opts.DisableBackgroundWork && len(db.current.levels[0]) >= db.opts.L0StopWritesThreshold {
			if stalled.IsZero() {
				stalled = time.Now()
			}
			db.cond.Wait()
			continue
		}
		if db.mem.m.ApproximateSize()+need <= db.opts.MemtableSize {
			return nil
		}
		if db.mem.m.Len() == 0 {
			// A batch larger than a memtable gets an empty memtable of its own size.
			db.mem = db.newMemTable(need, db.mem.logStart)
			return nil
		}
		if len(db.imm) >= db.opts.MaxImmutableMemtables {
			if db.opts.DisableBackgroundWork {
				db.mu.Unlock()
				err := db.flushOne()
				db.mu.Lock()
				if err != nil {
					return err
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
			return err
		}
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
