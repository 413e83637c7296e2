package sstable

import (
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// Cache holds decompressed data blocks of many tables, keyed by (file number,
// block offset), with a capacity in bytes. It is safe for concurrent use. A
// nil *Cache caches nothing.
//
// Admission is probabilistic (ristretto's TinyLFU) and insertion is
// asynchronous, so a block just read may not be found at once.
type Cache struct {
	rc     *ristretto.Cache[uint64, *cachedBlock]
	hits   atomic.Uint64
	misses atomic.Uint64
}

// cachedBlock is a cache value. The map key is a 64-bit mix of fileNum and
// offset; the value repeats them so a (very unlikely) mix collision reads as
// a miss, never as another block.
type cachedBlock struct {
	fileNum, offset uint64
	data            []byte // decompressed contents; never modified
}

// CacheStats counts lookups of a Cache.
type CacheStats struct {
	Hits   uint64 // lookups that found the block
	Misses uint64 // lookups that had to read the file
}

// NewCache returns a cache of about capacityBytes of block contents. A
// capacity <= 0 gives a cache that holds nothing (but still counts misses).
func NewCache(capacityBytes int64) *Cache {
	c := &Cache{}
	if capacityBytes <= 0 {
		return c
	}
	// Ristretto wants about ten counters per item it may hold.
	counters := max(capacityBytes/DefaultBlockSize*10, 1000)
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *cachedBlock]{
		NumCounters:        counters,
		MaxCost:            capacityBytes,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		// Only a bad config fails, and the one above is always good.
		panic("sstable: ristretto config: " + err.Error())
	}
	c.rc = rc
	return c
}

// cacheKey mixes a file number and a block offset into one 64-bit key
// (splitmix64 finalizer over the combination).
func cacheKey(fileNum, offset uint64) uint64 {
	x := fileNum*0x9e3779b97f4a7c15 ^ offset
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (c *Cache) get(fileNum, offset uint64) ([]byte, bool) {
	if c.rc != nil {
		if b, ok := c.rc.Get(cacheKey(fileNum, offset)); ok && b.fileNum == fileNum && b.offset == offset {
			c.hits.Add(1)
			return b.data, true
		}
	}
	c.misses.Add(1)
	return nil, false
}

func (c *Cache) set(fileNum, offset uint64, data []byte) {
	if c.rc != nil {
		c.rc.Set(cacheKey(fileNum, offset), &cachedBlock{fileNum, offset, data}, int64(len(data)))
	}
}

// wait blocks until pending insertions are applied (for tests).
func (c *Cache) wait() {
	if c != nil && c.rc != nil {
		c.rc.Wait()
	}
}

// Stats returns the lookup counters since the cache was made.
func (c *Cache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// Close stops the cache's background goroutines and drops its contents. The
// tables using it must be closed first.
func (c *Cache) Close() {
	if c != nil && c.rc != nil {
		c.rc.Close()
	}
}
