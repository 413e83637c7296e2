package backend

import (
	"bytes"
	"fmt"
	"time"

	"github.com/nokv/nokv/iface"
)

// GCResult reports one value-log GC cycle.
type GCResult struct {
	Collected bool   // a segment was collected
	Segment   uint32 // which one
	Live      int    // values still reachable, rewritten to the head of the log
	LiveBytes int64  // their bytes
	Garbage   int    // values no reader can reach any more, dropped
}

// RunValueLogGC collects at most one value-log segment whose share of
// garbage is at least minRatio (0 < minRatio <= 1): it rewrites the
// segment's live values through the normal write path, as new versions
// guarded so that a concurrent write always wins, syncs them, and removes
// the segment once no iterator or snapshot that might reach it remains. It
// only considers segments every pointer of which is already in a table, so
// a crash can never replay a pointer into a removed segment. Collected is
// false when no segment qualifies. It fails with ErrInvalidArgument when
// the value store keeps values inline.
func (db *DB) RunValueLogGC(minRatio float64) (GCResult, error) {
	var res GCResult
	if db.gc == nil {
		return res, fmt.Errorf("%w: value store %s has no value log to collect", iface.ErrInvalidArgument, db.vs.Name())
	}
	if minRatio <= 0 || minRatio > 1 {
		return res, fmt.Errorf("%w: GC ratio %v is not in (0, 1]", iface.ErrInvalidArgument, minRatio)
	}
	db.gcMu.Lock()
	defer db.gcMu.Unlock()
	if err := db.writable(); err != nil {
		return res, err
	}
	seg, ok := db.gc.PickForGC(minRatio, db.gcHorizon.Load())
	if !ok {
		return res, nil
	}
	res.Segment = seg
	now := uint64(time.Now().Unix())
	b := NewBatch()
	rs := db.acquire()
	defer func() { rs.v.unref() }()
	looked := 0
	err := db.gc.IterateSegment(seg, func(key []byte, version, expiresAt uint64, ptr iface.ValuePtr, value []byte) error {
		if expiresAt != 0 && expiresAt <= now {
			res.Garbage++
			return nil
		}
		if looked++; looked%1024 == 0 { // see recent writes; drop old tables
			rs.v.unref()
			rs = db.acquire()
		}
		ik, stored, found, err := db.lookup(rs, key, iface.MaxVersion)
		if err != nil {
			return err
		}
		if !found || iface.Version(ik) != version || !pointsAt(stored, ptr) {
			res.Garbage++ // overwritten, deleted, or only an older version
			return nil
		}
		b.setIfUnchanged(key, value, expiresAt, version, stored)
		res.Live++
		res.LiveBytes += int64(len(value))
		if b.size >= 4<<20 {
			if err := db.Apply(b, nil); err != nil {
				return err
			}
			b = NewBatch()
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("value-log GC of segment %d: %w", seg, err)
	}
	// The last write syncs every rewrite before the segment may go.
	if b.Len() > 0 {
		err = db.Apply(b, &WriteOptions{Sync: true})
	} else {
		err = db.Sync()
	}
	if err != nil {
		return res, fmt.Errorf("value-log GC of segment %d: %w", seg, err)
	}
	if err := db.gc.RemoveSegment(seg); err != nil {
		return res, fmt.Errorf("value-log GC of segment %d: %w", seg, err)
	}
	res.Collected = true
	db.stats.vlogGCs.Add(1)
	db.stats.vlogGCBytes.Add(res.LiveBytes)
	db.opts.Logger.Info("value-log GC", "segment", seg, "live", res.Live, "garbage", res.Garbage)
	return res, nil
}

// pointsAt reports whether a stored value is a pointer to ptr.
func pointsAt(stored []byte, ptr iface.ValuePtr) bool {
	kind, _, payload, err := iface.DecodeValue(stored)
	if err != nil || kind != iface.KindPointer {
		return false
	}
	var enc [iface.ValuePtrLen]byte
	return bytes.Equal(payload, ptr.Encode(enc[:0]))
}

// gcLoop runs value-log GC every ValueLogGCInterval, collecting segments
// while any qualifies and pacing the rewrites to ValueLogGCRate.
func (db *DB) gcLoop() {
	defer db.bgWG.Done()
	t := time.NewTicker(db.opts.ValueLogGCInterval)
	defer t.Stop()
	for {
		select {
		case <-db.quit:
			return
		case <-t.C:
		}
		for {
			res, err := db.RunValueLogGC(db.opts.ValueLogGCRatio)
			if err != nil {
				db.opts.Logger.Warn("value-log GC", "err", err)
				break
			}
			if !res.Collected {
				break
			}
			pause := time.Duration(float64(res.LiveBytes) / float64(db.opts.ValueLogGCRate) * float64(time.Second))
			select {
			case <-db.quit:
				return
			case <-time.After(pause):
			}
		}
	}
}
