package sstable

import (
	"encoding/binary"

	"github.com/nokv/nokv/iface"
)

// blockIter walks the entries of one block in place: keys are rebuilt into a
// reused buffer (or alias the block when stored whole) and values alias the
// block. The restart array must have passed checkBlock; every entry is
// bounds-checked as it is decoded, and damage sets err.
//
// Moving backward decodes the restart interval before the current entry once
// and keeps the decoded entries (revCache), so a run of Prev calls costs one
// decode per entry, as Next does.
type blockIter struct {
	data        []byte
	restarts    int // offset of the restart array: the end of the entries
	numRestarts int

	offset int // offset of the current entry; -1 before the first
	next   int // offset of the entry after the current one
	key    []byte
	val    []byte
	valid  bool
	// keyInBuf says key is keyBuf (so a shared prefix is already in place).
	keyInBuf bool
	keyBuf   []byte

	revCache []revEntry
	revKeys  []byte
	revIdx   int // index in revCache of the entry before the current one; -1 if none

	err      error
	file     string
	blockOff int64
}

// revEntry is a decoded entry kept for backward iteration.
type revEntry struct {
	offset, next     int
	keyStart, keyEnd int // in revKeys
	valStart, valEnd int // in data
}

// init points the iterator at a block whose restart array passed checkBlock.
func (i *blockIter) init(data []byte, file string, blockOff int64) {
	n := int(binary.LittleEndian.Uint32(data[len(data)-4:]))
	i.data = data
	i.numRestarts = n
	i.restarts = len(data) - 4 - 4*n
	i.beforeStart()
	i.val = nil
	i.revCache, i.revKeys, i.revIdx = i.revCache[:0], i.revKeys[:0], -1
	i.err, i.file, i.blockOff = nil, file, blockOff
}

// release drops the references to block memory.
func (i *blockIter) release() {
	i.data, i.key, i.val = nil, nil, nil
	i.valid = false
}

// corrupt records damage; the iterator stays invalid until re-initialised.
func (i *blockIter) corrupt(reason string) bool {
	if i.err == nil {
		i.err = iface.Corruptf(i.file, i.blockOff, "%s", reason)
	}
	i.valid = false
	i.next = i.restarts // so Next stops at once
	return false
}

// beforeStart parks the iterator before the first entry.
func (i *blockIter) beforeStart() bool {
	i.valid = false
	i.offset, i.next = -1, 0
	i.key, i.keyInBuf = nil, false
	return false
}

func (i *blockIter) restartOffset(r int) int {
	return int(binary.LittleEndian.Uint32(i.data[i.restarts+4*r:]))
}

// decodeHeader decodes the three lengths of the entry at o and checks that the
// entry fits in the entry area. p is the offset of the key delta.
func (i *blockIter) decodeHeader(o int) (shared, unshared, vlen, p int, ok bool) {
	d := i.data[:i.restarts]
	if o >= 0 && o+3 <= len(d) {
		if h := d[o : o+3 : o+3]; h[0]|h[1]|h[2] < 0x80 {
			shared, unshared, vlen, p = int(h[0]), int(h[1]), int(h[2]), o+3
			if unshared+vlen > len(d)-p {
				return 0, 0, 0, 0, false
			}
			return shared, unshared, vlen, p, true
		}
	}
	return decodeHeaderSlow(d, o)
}

func decodeHeaderSlow(d []byte, o int) (shared, unshared, vlen, p int, ok bool) {
	if o < 0 || o > len(d) {
		return 0, 0, 0, 0, false
	}
	var v [3]uint64
	p = o
	for j := range v {
		x, n := binary.Uvarint(d[p:])
		if n <= 0 || x > uint64(len(d)) {
			return 0, 0, 0, 0, false
		}
		v[j] = x
		p += n
	}
	shared, unshared, vlen = int(v[0]), int(v[1]), int(v[2])
	if unshared > len(d)-p || vlen > len(d)-p-unshared {
		return 0, 0, 0, 0, false
	}
	return shared, unshared, vlen, p, true
}

// decodeAt makes the entry at o current; the current key must be the key of
// the entry before o (or nil, if o is a restart point).
func (i *blockIter) decodeAt(o int) bool {
	shared, unshared, vlen, p, ok := i.decodeHeader(o)
	if !ok {
		return i.corrupt("malformed block entry")
	}
	d := i.data
	switch {
	case shared == 0:
		i.key = d[p : p+unshared : p+unshared]
		i.keyInBuf = false
	case shared > len(i.key):
		return i.corrupt("block entry shares more than the previous key")
	case i.keyInBuf:
		i.keyBuf = append(i.keyBuf[:shared], d[p:p+unshared]...)
		i.key = i.keyBuf
	default:
		i.keyBuf = append(append(i.keyBuf[:0], i.key[:shared]...), d[p:p+unshared]...)
		i.key = i.keyBuf
		i.keyInBuf = true
	}
	p += unshared
	i.val = d[p : p+vlen : p+vlen]
	i.offset, i.next = o, p+vlen
	i.valid = true
	return true
}

// restartKey returns the whole key stored at restart point r, aliasing the block.
func (i *blockIter) restartKey(r int) ([]byte, bool) {
	shared, unshared, _, p, ok := i.decodeHeader(i.restartOffset(r))
	if !ok || shared != 0 {
		return nil, i.corrupt("malformed restart entry")
	}
	return i.data[p : p+unshared : p+unshared], true
}

// searchRestarts returns the first restart point whose key is >= key
// (numRestarts if none).
func (i *blockIter) searchRestarts(key []byte) (int, bool) {
	lo, hi := 0, i.numRestarts
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, ok := i.restartKey(mid)
		if !ok {
			return 0, false
		}
		if iface.Compare(k, key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, true
}

// First moves to the first entry.
func (i *blockIter) First() bool {
	if i.err != nil || i.restarts == 0 {
		i.valid = false
		return false
	}
	i.key, i.keyInBuf = nil, false
	return i.decodeAt(0)
}

// Last moves to the last entry.
func (i *blockIter) Last() bool {
	if i.err != nil || i.numRestarts == 0 {
		i.valid = false
		return false
	}
	return i.fillRev(i.restartOffset(i.numRestarts-1), i.restarts, nil)
}

// Next moves to the following entry (the first one from before the start);
// past the last one it is invalid with offset at the end of the entries.
func (i *blockIter) Next() bool {
	if i.next >= i.restarts {
		i.valid = false
		i.offset = i.restarts
		return false
	}
	return i.decodeAt(i.next)
}

// Prev moves to the preceding entry; before the first one it is invalid with
// offset -1.
func (i *blockIter) Prev() bool {
	if i.err != nil {
		return false
	}
	o := i.offset
	if i.revIdx >= 0 && i.revIdx < len(i.revCache) && i.revCache[i.revIdx].next == o {
		i.setRev(i.revIdx)
		i.revIdx--
		return true
	}
	if o <= 0 {
		return i.beforeStart()
	}
	// The last restart point before o starts the interval holding o's predecessor.
	lo, hi := 0, i.numRestarts
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if i.restartOffset(mid) < o {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return i.corrupt("no restart point before entry")
	}
	return i.fillRev(i.restartOffset(lo-1), o, nil)
}

// SeekGE moves to the first entry whose key is >= key.
func (i *blockIter) SeekGE(key []byte) bool {
	if i.err != nil {
		return false
	}
	r, ok := i.searchRestarts(key)
	if !ok {
		return false
	}
	// Entries >= key start in the interval before restart r at the earliest.
	if r > 0 {
		r--
	}
	if r >= i.numRestarts {
		i.valid = false
		i.offset = i.restarts
		return false
	}
	i.key, i.keyInBuf = nil, false
	if !i.decodeAt(i.restartOffset(r)) {
		return false
	}
	for iface.Compare(i.key, key) < 0 {
		if !i.Next() {
			return false
		}
	}
	return true
}

// SeekLT moves to the last entry whose key is < key.
func (i *blockIter) SeekLT(key []byte) bool {
	if i.err != nil {
		return false
	}
	r, ok := i.searchRestarts(key)
	if !ok {
		return false
	}
	if r == 0 {
		return i.beforeStart()
	}
	end := i.restarts
	if r < i.numRestarts {
		end = i.restartOffset(r)
	}
	return i.fillRev(i.restartOffset(r-1), end, key)
}

// fillRev decodes the entries from the restart point at start up to (not
// including) the entry at end, stopping early at the first key >= stop when
// stop is not nil, keeps them in revCache and makes the last one current.
func (i *blockIter) fillRev(start, end int, stop []byte) bool {
	i.revCache, i.revKeys = i.revCache[:0], i.revKeys[:0]
	prevStart, prevEnd := 0, 0
	for o := start; o < end; {
		shared, unshared, vlen, p, ok := i.decodeHeader(o)
		if !ok {
			return i.corrupt("malformed block entry")
		}
		if shared > prevEnd-prevStart {
			return i.corrupt("block entry shares more than the previous key")
		}
		ks := len(i.revKeys)
		i.revKeys = append(i.revKeys, i.revKeys[prevStart:prevStart+shared]...)
		i.revKeys = append(i.revKeys, i.data[p:p+unshared]...)
		if stop != nil && iface.Compare(i.revKeys[ks:], stop) >= 0 {
			i.revKeys = i.revKeys[:ks]
			break
		}
		vs := p + unshared
		i.revCache = append(i.revCache, revEntry{
			offset: o, next: vs + vlen,
			keyStart: ks, keyEnd: len(i.revKeys),
			valStart: vs, valEnd: vs + vlen,
		})
		prevStart, prevEnd = ks, len(i.revKeys)
		o = vs + vlen
	}
	if len(i.revCache) == 0 {
		// Only a stop key at or before the restart key ends here, and the
		// callers rule that out by their restart search unless the block lies.
		return i.corrupt("restart interval out of order")
	}
	n := len(i.revCache) - 1
	i.setRev(n)
	i.revIdx = n - 1
	return true
}

func (i *blockIter) setRev(n int) {
	e := &i.revCache[n]
	i.key = i.revKeys[e.keyStart:e.keyEnd:e.keyEnd]
	i.keyInBuf = false
	i.val = i.data[e.valStart:e.valEnd:e.valEnd]
	i.offset, i.next = e.offset, e.next
	i.valid = true
}

// forEach walks the block forward, calling fn for every entry, and checks
// what the fast paths take on trust: that every restart point falls on an
// entry boundary and that the entry there stores its key whole.
func (i *blockIter) forEach(fn func(key, val []byte) error) error {
	r := 0
	for ok := i.First(); ok; ok = i.Next() {
		if r < i.numRestarts && i.offset >= i.restartOffset(r) {
			if i.offset > i.restartOffset(r) {
				i.corrupt("restart point inside an entry")
				return i.err
			}
			if _, ok := i.restartKey(r); !ok {
				return i.err
			}
			r++
		}
		if err := fn(i.key, i.val); err != nil {
			return err
		}
	}
	if i.err == nil && r != i.numRestarts {
		i.corrupt("restart point past the last entry")
	}
	return i.err
}
