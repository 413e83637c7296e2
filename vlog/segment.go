package vlog

import (
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"

	"github.com/nokv/nokv/vfs"
)

// segment is one open segment file. The Store holds one reference on every
// segment it lists; a Read or IterateSegment holds another while it uses the
// handle. When a removed segment's last reference is dropped, its file is
// closed and deleted, so a reader that took its reference before the removal
// always finishes.
type segment struct {
	store *Store
	num   uint32
	path  string
	f     vfs.File

	// size is the end of the segment's complete records: readers never look
	// past it. For the active segment it grows after each write returns.
	size atomic.Int64
	refs atomic.Int32
	// doomed: RemoveSegment was called; the file is deleted with the last
	// reference. Set before the Store drops its reference.
	doomed atomic.Bool

	// doomEpoch is the pin epoch current when RemoveSegment was called
	// (guarded by Store.pinMu).
	doomEpoch uint64
}

func newSegment(s *Store, num uint32, path string, f vfs.File, size int64) *segment {
	seg := &segment{store: s, num: num, path: path, f: f}
	seg.size.Store(size)
	seg.refs.Store(1)
	return seg
}

// unref drops a reference; the last one closes the file, and deletes it if
// the segment was removed.
func (seg *segment) unref() {
	if n := seg.refs.Add(-1); n > 0 {
		return
	} else if n < 0 {
		panic(fmt.Sprintf("vlog: segment %d unreferenced too often", seg.num))
	}
	err := seg.f.Close()
	if seg.doomed.Load() {
		if rerr := seg.store.fs.Remove(seg.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		} else {
			if rerr == nil {
				err = errors.Join(err, seg.store.fs.SyncDir(seg.store.dir))
			}
			seg.store.removed.Add(1)
		}
	}
	if err != nil {
		seg.store.noteBgErr(fmt.Errorf("vlog: release segment %s: %w", seg.path, err))
	}
}
