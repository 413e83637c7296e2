package vlog

import (
	"sync"
	"sync/atomic"
)

// cacheShards is the number of independently locked parts of the read
// cache; a power of two.
const cacheShards = 16

// cacheEntryOverhead approximates the bytes an entry costs beyond its value
// (the entry, its map slot and slice header), so that many small values
// cannot exceed the bound.
const cacheEntryOverhead = 96

// valueCache keeps recently read values, keyed by their pointer's segment
// and offset, so a repeated Read of a pointer costs no file read. Its size
// is bounded in bytes: each of its shards evicts its least recently used
// values past its share. Values are copied in and out: callers never see
// the cache's memory. Safe for concurrent use; a nil *valueCache caches
// nothing.
//
// A key is never reused for other bytes: segment numbers only grow, and
// records are never rewritten in place. A value of a segment GC removed may
// linger until it is evicted, but Read checks that the segment exists
// before it looks here.
type valueCache struct {
	shards       [cacheShards]cacheShard
	maxEntry     int64 // larger values are not cached
	hits, misses atomic.Int64
}

type cacheShard struct {
	mu    sync.Mutex
	items map[uint64]*cacheEntry
	head  cacheEntry // sentinel of the recency list: head.next is the newest
	used  int64
	limit int64
}

type cacheEntry struct {
	key        uint64
	value      []byte
	prev, next *cacheEntry
}

// newValueCache returns a cache of at most size bytes, or nil if size is
// not positive.
func newValueCache(size int64) *valueCache {
	if size <= 0 {
		return nil
	}
	c := &valueCache{}
	per := max(size/cacheShards, 1)
	c.maxEntry = per / 4
	for i := range c.shards {
		sh := &c.shards[i]
		sh.items = make(map[uint64]*cacheEntry)
		sh.head.prev, sh.head.next = &sh.head, &sh.head
		sh.limit = per
	}
	return c
}

func cacheKey(seg, off uint32) uint64 { return uint64(seg)<<32 | uint64(off) }

func (c *valueCache) shard(key uint64) *cacheShard {
	// Offsets of neighbouring records differ in their low bits; mix the
	// key so that they spread over the shards.
	h := key * 0x9e3779b97f4a7c15
	return &c.shards[h>>(64-4)]
}

// get appends the cached value of key to dst.
func (c *valueCache) get(key uint64, dst []byte) ([]byte, bool) {
	if c == nil {
		return dst, false
	}
	sh := c.shard(key)
	sh.mu.Lock()
	e := sh.items[key]
	if e == nil {
		sh.mu.Unlock()
		c.misses.Add(1)
		return dst, false
	}
	sh.unlink(e)
	sh.pushFront(e)
	dst = append(dst, e.value...)
	sh.mu.Unlock()
	c.hits.Add(1)
	return dst, true
}

// add caches a copy of value under key, evicting the least recently used
// values of its shard to stay within the bound.
func (c *valueCache) add(key uint64, value []byte) {
	if c == nil || int64(len(value)) > c.maxEntry {
		return
	}
	v := append([]byte(nil), value...)
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.items[key]; ok {
		return // a concurrent reader added it; the bytes are the same
	}
	e := &cacheEntry{key: key, value: v}
	sh.items[key] = e
	sh.pushFront(e)
	sh.used += int64(len(v)) + cacheEntryOverhead
	for sh.used > sh.limit && sh.head.prev != &sh.head {
		old := sh.head.prev
		sh.unlink(old)
		delete(sh.items, old.key)
		sh.used -= int64(len(old.value)) + cacheEntryOverhead
	}
}

// bytes reports the bytes the cache holds (overheads included).
func (c *valueCache) bytes() int64 {
	if c == nil {
		return 0
	}
	var n int64
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += sh.used
		sh.mu.Unlock()
	}
	return n
}

func (sh *cacheShard) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (sh *cacheShard) pushFront(e *cacheEntry) {
	e.prev, e.next = &sh.head, sh.head.next
	sh.head.next.prev = e
	sh.head.next = e
}
