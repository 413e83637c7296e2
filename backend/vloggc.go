package backend

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/manifest"
	"github.com/nokv/nokv/vlog"
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
	// The manifest drops the segment from the live set before its file can
	// go: a crash in between leaves an unrecorded file below the head,
	// which the next Open removes (vlog.Options.Recorded).
	if err := db.dropRecordedSegment(seg); err != nil {
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

// The value log's live segment set is recorded in the manifest (edit fields
// AddValueSegments and DropValueSegments): a flush records every segment
// up to the head it records, GC records a drop before the file is deleted,
// and Open hands the record to the value store to check its directory
// against (iface.ValueStoreOptions.Recorded).

// valueLogRecord returns the manifest's record of the value log, or nil if
// it holds none.
func valueLogRecord(state *manifest.State) *iface.ValueLogRecord {
	if state.ValueLogHead == (iface.ValuePtr{}) && len(state.ValueSegments) == 0 {
		return nil
	}
	return &iface.ValueLogRecord{Head: state.ValueLogHead, Live: state.ValueSegments}
}

// adoptValueSegments sets vlogRecorded from the manifest, and records the
// live set of a store written before it was kept (a head but no live set):
// the segment files at or below the head, as the value log found them.
func (db *DB) adoptValueSegments(state *manifest.State) error {
	if n := len(state.ValueSegments); n > 0 {
		db.vlogRecorded.Store(state.ValueSegments[n-1])
		return nil
	}
	v, ok := db.vs.(*vlog.Store)
	if !ok || state.ValueLogHead == (iface.ValuePtr{}) {
		return nil
	}
	var adopt []uint32
	for _, si := range v.Segments() {
		if si.Number <= state.ValueLogHead.Segment {
			adopt = append(adopt, si.Number)
		}
	}
	if len(adopt) == 0 {
		return nil
	}
	if err := db.manifest.Apply(&manifest.Edit{AddValueSegments: adopt}); err != nil {
		return fmt.Errorf("nokv: record value-log segments: %w", err)
	}
	db.vlogRecorded.Store(adopt[len(adopt)-1])
	return nil
}

// unrecordedSegments returns the segments a flush recording head must add
// to the live set: those after the newest recorded one, up to the head's.
// Segment numbers are consecutive, and GC never takes a segment at or past
// the recorded head, so all of them exist. Called with versionMu held.
func (db *DB) unrecordedSegments(head iface.ValuePtr) []uint32 {
	var out []uint32
	for n := db.vlogRecorded.Load() + 1; n != 0 && n <= head.Segment; n++ {
		out = append(out, n)
	}
	return out
}

// noteRecordedSegments notes segments an applied edit added. Called with
// versionMu held.
func (db *DB) noteRecordedSegments(added []uint32) {
	if n := len(added); n > 0 && added[n-1] > db.vlogRecorded.Load() {
		db.vlogRecorded.Store(added[n-1])
	}
}

// dropRecordedSegment records that GC dropped seg, if it is recorded.
func (db *DB) dropRecordedSegment(seg uint32) error {
	db.versionMu.Lock()
	defer db.versionMu.Unlock()
	if !slices.Contains(db.manifest.State().ValueSegments, seg) {
		return nil
	}
	if err := db.manifest.Apply(&manifest.Edit{DropValueSegments: []uint32{seg}}); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
