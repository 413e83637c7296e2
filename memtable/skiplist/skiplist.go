package skiplist

import (
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/nokv/nokv/iface"
)

// Skiplist is an arena-allocated, lock-free skiplist memtable ordered by
// iface.Compare. Add, Get and iterators may all run concurrently.
type Skiplist struct {
	arena *arena
	// height is the number of levels in use (1..maxHeight); it only grows.
	height atomic.Int32
	// n counts distinct internal keys.
	n atomic.Int64
}

var _ iface.Memtable = (*Skiplist)(nil)

// New returns an empty skiplist whose arena holds opts.Capacity bytes: 64 MiB
// when Capacity is 0 or negative, at most 4 GiB, and at least the 192 bytes
// the head node and the slack need (such a table is full from the start).
// Only the first chunk (1 MiB, or the capacity if smaller) is allocated up
// front; the rest as entries arrive. It matches iface.NewMemtable.
func New(opts iface.MemtableOptions) iface.Memtable {
	s := &Skiplist{arena: newArena(opts.Capacity)}
	s.height.Store(1)
	return s
}

// Add inserts value under ikey, replacing the value if ikey is present. It
// returns iface.ErrFull, and changes nothing, when the arena cannot hold the
// entry. It is safe to call from many goroutines at once.
func (s *Skiplist) Add(ikey, value []byte) error {
	var prev, next [maxHeight]uint32
	listHeight := int(s.height.Load())
	x, bigger := uint32(0), noNode
	for i := listHeight - 1; i >= 0; i-- {
		p, n, found := s.findSplice(ikey, x, i, bigger)
		if found {
			return s.replace(n, value)
		}
		prev[i], next[i] = p, n
		x, bigger = p, n
	}

	h := randomHeight()
	off, ok := s.arena.alloc(uint64(nodeHeaderSize + 4*h + len(ikey) + len(value)))
	if !ok {
		return iface.ErrFull
	}
	nd := s.arena.node(off)
	keyOff := off + uint32(nodeHeaderSize+4*h)
	valOff := keyOff + uint32(len(ikey))
	copy(s.arena.bytes(keyOff, uint32(len(ikey))), ikey)
	copy(s.arena.bytes(valOff, uint32(len(value))), value)
	nd.keyOff, nd.keyLen = keyOff, uint32(len(ikey))
	nd.setValueLoc(valOff, uint32(len(value)))

	for {
		cur := s.height.Load()
		if int(cur) >= h || s.height.CompareAndSwap(cur, int32(h)) {
			break
		}
	}
	// Levels above the height seen at the search start at the head; if another
	// writer has linked nodes there since, the CAS below fails and re-searches.
	for i := listHeight; i < h; i++ {
		prev[i], next[i] = 0, 0
	}

	if testHookBeforeLink != nil {
		testHookBeforeLink(ikey)
	}
	// Link bottom-up: once a node is reachable at level 0 it is in the list;
	// higher levels only speed up searches.
	for i := 0; i < h; i++ {
		for {
			atomic.StoreUint32(&nd.tower[i], next[i])
			if atomic.CompareAndSwapUint32(&s.arena.node(prev[i]).tower[i], next[i], off) {
				break
			}
			p, n, found := s.findSplice(ikey, prev[i], i, noNode)
			if found {
				// Only possible at level 0: another writer linked the same key
				// first. Our node is abandoned (its header and key bytes are
				// wasted) and the winner takes our value, already in the
				// arena, as if our Add came second.
				s.arena.node(n).setValueLoc(valOff, uint32(len(value)))
				return nil
			}
			prev[i], next[i] = p, n
		}
		if i == 0 {
			s.n.Add(1)
		}
	}
	return nil
}

// testHookBeforeLink, when set by a test, runs in Add between the search and
// the linking, so a test can make other writers win the race for a splice.
var testHookBeforeLink func(ikey []byte)

// replace gives the node at off a copy of value.
func (s *Skiplist) replace(off uint32, value []byte) error {
	valOff, ok := s.arena.alloc(uint64(len(value)))
	if !ok {
		return iface.ErrFull
	}
	copy(s.arena.bytes(valOff, uint32(len(value))), value)
	s.arena.node(off).setValueLoc(valOff, uint32(len(value)))
	return nil
}

// findSplice walks level i from the node at before (whose key is < ikey, or
// the head) and returns the adjacent pair prev < ikey <= next. found reports
// next's key equals ikey.
//
// bigger, unless it is noNode, is a node already known to hold a key greater
// than ikey (the successor found one level up): reaching it ends the walk
// without reading its key again. In a descent, most levels end on the node
// the level above ended on, so this saves a comparison per level.
func (s *Skiplist) findSplice(ikey []byte, before uint32, i int, bigger uint32) (prev, next uint32, found bool) {
	for {
		next = s.arena.node(before).next(i)
		if next == 0 || next == bigger {
			return before, next, false
		}
		c := iface.Compare(ikey, s.key(next))
		if c <= 0 {
			return before, next, c == 0
		}
		before = next
	}
}

// noNode is an offset no node has.
const noNode = ^uint32(0)

// findGE returns the first node whose key is >= ikey, or 0.
func (s *Skiplist) findGE(ikey []byte) uint32 {
	x := uint32(0)
	for i := int(s.height.Load()) - 1; ; {
		next := s.arena.node(x).next(i)
		if next != 0 {
			c := iface.Compare(s.key(next), ikey)
			if c < 0 {
				x = next
				continue
			}
			if c == 0 {
				return next
			}
		}
		if i == 0 {
			return next
		}
		i--
	}
}

// findLT returns the last node whose key is < ikey, or 0.
func (s *Skiplist) findLT(ikey []byte) uint32 {
	x := uint32(0)
	for i := int(s.height.Load()) - 1; i >= 0; i-- {
		for {
			next := s.arena.node(x).next(i)
			if next == 0 || iface.Compare(s.key(next), ikey) >= 0 {
				break
			}
			x = next
		}
	}
	return x
}

// findLast returns the last node, or 0 if the list is empty.
func (s *Skiplist) findLast() uint32 {
	x := uint32(0)
	for i := int(s.height.Load()) - 1; i >= 0; i-- {
		for {
			next := s.arena.node(x).next(i)
			if next == 0 {
				break
			}
			x = next
		}
	}
	return x
}

// key returns the internal key of the node at off.
func (s *Skiplist) key(off uint32) []byte {
	nd := s.arena.node(off)
	return s.arena.bytes(nd.keyOff, nd.keyLen)
}

// value returns the current value of the node at off.
func (s *Skiplist) value(off uint32) []byte {
	return s.arena.bytes(s.arena.node(off).valueLoc())
}

// Get returns the first entry at or after ikey in iface.Compare order if it
// has ikey's user key: the newest version of that user key not newer than
// Version(ikey). The returned slices alias the arena; they stay valid for the
// life of the Skiplist and must not be modified.
func (s *Skiplist) Get(ikey []byte) (key, value []byte, ok bool) {
	off := s.findGE(ikey)
	if off == 0 {
		return nil, nil, false
	}
	key = s.key(off)
	if !iface.SameUserKey(key, ikey) {
		return nil, nil, false
	}
	return key, s.value(off), true
}

// NewIterator returns an iterator over the live list: it sees every entry
// added before the call and possibly some added during iteration.
func (s *Skiplist) NewIterator() iface.Iterator {
	return &iterator{list: s}
}

// ApproximateSize reports the arena bytes handed out, including the head
// node and the values that replacements superseded.
func (s *Skiplist) ApproximateSize() int64 { return s.arena.size() }

// Len reports the number of distinct internal keys.
func (s *Skiplist) Len() int { return int(s.n.Load()) }

// heightThresholds[k] is 2^32 · e^-k: a tower grows past height k when a
// uniform 32-bit draw is below it, so P(height > k) = e^-k. The branching
// factor 1/e minimizes the expected number of key comparisons of a search,
// about e·ln(n), 6% fewer than with 1/4 or 1/2; every comparison is
// likely a cache miss in a large memtable.
var heightThresholds = func() (t [maxHeight]uint32) {
	p := float64(1 << 32)
	for k := range t {
		t[k] = uint32(min(p, float64(^uint32(0))))
		p /= math.E
	}
	return t
}()

// randomHeight draws a tower height with P(height > k) = e^-k.
func randomHeight() int {
	r := rand.Uint32()
	h := 1
	for h < maxHeight && r < heightThresholds[h] {
		h++
	}
	return h
}
