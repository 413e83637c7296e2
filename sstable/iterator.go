package sstable

import (
	"fmt"

	"github.com/nokv/nokv/iface"
)

// tableIter is the two-level iterator of a Reader: an iterator over the index
// block picks the data block, and a block iterator walks it. Both stay at the
// current position, so changing direction needs no re-seek.
type tableIter struct {
	r     *Reader
	index blockIter
	data  blockIter
	bufs  blockBufs // block memory when there is no cache

	loaded bool // data holds the block at dataH
	dataH  handle
	// off is +1 after running off the end, -1 after running off the start,
	// 0 when valid or never positioned.
	off int8
	err error
}

var _ iface.Iterator = (*tableIter)(nil)

// loadData points the data iterator at the block the index is at.
func (it *tableIter) loadData() bool {
	h, err := it.r.dataHandle(it.index.val)
	if err != nil {
		return it.fail(err)
	}
	if it.loaded && h == it.dataH {
		return true
	}
	it.loaded = false
	b, err := it.r.dataBlock(h, &it.bufs)
	if err != nil {
		return it.fail(err)
	}
	it.data.init(b, it.r.name, int64(h.offset))
	it.loaded, it.dataH = true, h
	return true
}

func (it *tableIter) fail(err error) bool {
	if it.err == nil {
		it.err = err
	}
	it.data.valid = false
	return false
}

// indexDone handles an index iterator that found no block: an error, or the
// iterator ran off the end (dir +1) or the start (dir -1).
func (it *tableIter) indexDone(dir int8) bool {
	if it.index.err != nil {
		return it.fail(it.index.err)
	}
	it.data.valid = false
	it.off = dir
	return false
}

// skipForward moves past exhausted data blocks to the next entry.
func (it *tableIter) skipForward() bool {
	for !it.data.valid {
		if it.data.err != nil {
			return it.fail(it.data.err)
		}
		if !it.index.Next() {
			return it.indexDone(+1)
		}
		if !it.loadData() {
			return false
		}
		it.data.First()
	}
	it.off = 0
	return true
}

// skipBackward moves before exhausted data blocks to the previous entry.
func (it *tableIter) skipBackward() bool {
	for !it.data.valid {
		if it.data.err != nil {
			return it.fail(it.data.err)
		}
		if !it.index.Prev() {
			return it.indexDone(-1)
		}
		if !it.loadData() {
			return false
		}
		it.data.Last()
	}
	it.off = 0
	return true
}

func (it *tableIter) SeekGE(key []byte) bool {
	if it.err != nil {
		return false
	}
	if !it.index.SeekGE(key) {
		return it.indexDone(+1)
	}
	if !it.loadData() {
		return false
	}
	it.data.SeekGE(key)
	return it.skipForward()
}

func (it *tableIter) SeekLT(key []byte) bool {
	if it.err != nil {
		return false
	}
	// The last entry < key is in the first block whose separator is >= key,
	// or before it; when no separator is >= key, every entry is < key.
	if !it.index.SeekGE(key) {
		if it.index.err != nil || !it.index.Last() {
			return it.indexDone(-1)
		}
		if !it.loadData() {
			return false
		}
		it.data.Last()
		return it.skipBackward()
	}
	if !it.loadData() {
		return false
	}
	it.data.SeekLT(key)
	return it.skipBackward()
}

func (it *tableIter) First() bool {
	if it.err != nil {
		return false
	}
	if !it.index.First() {
		return it.indexDone(+1)
	}
	if !it.loadData() {
		return false
	}
	it.data.First()
	return it.skipForward()
}

func (it *tableIter) Last() bool {
	if it.err != nil {
		return false
	}
	if !it.index.Last() {
		return it.indexDone(-1)
	}
	if !it.loadData() {
		return false
	}
	it.data.Last()
	return it.skipBackward()
}

func (it *tableIter) Next() bool {
	if it.err != nil {
		return false
	}
	if !it.data.valid {
		if it.off > 0 {
			return false
		}
		return it.First()
	}
	if it.data.Next() {
		return true
	}
	return it.skipForward()
}

func (it *tableIter) Prev() bool {
	if it.err != nil {
		return false
	}
	if !it.data.valid {
		if it.off < 0 {
			return false
		}
		return it.Last()
	}
	if it.data.Prev() {
		return true
	}
	return it.skipBackward()
}

func (it *tableIter) Valid() bool { return it.err == nil && it.data.valid }

func (it *tableIter) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return it.data.key
}

func (it *tableIter) Value() []byte {
	if !it.Valid() {
		return nil
	}
	return it.data.val
}

func (it *tableIter) Err() error { return it.err }

func (it *tableIter) Close() error {
	err := it.err
	it.index.release()
	it.data.release()
	it.bufs = blockBufs{}
	it.loaded = false
	if it.err == nil {
		it.err = fmt.Errorf("sstable: iterator: %w", iface.ErrClosed)
	}
	return err
}
