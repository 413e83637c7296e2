package sstable

import (
	"fmt"

	"github.com/nokv/nokv/iface"
)

// Compression selects how data blocks are compressed.
type Compression uint8

const (
	// DefaultCompression is the zero value; EnsureDefaults turns it into
	// SnappyCompression.
	DefaultCompression Compression = iota
	// NoCompression stores every block as is.
	NoCompression
	// SnappyCompression compresses a block with Snappy when that saves at
	// least 1/8 of its size.
	SnappyCompression
)

// String names the compression.
func (c Compression) String() string {
	switch c {
	case DefaultCompression:
		return "default"
	case NoCompression:
		return "none"
	case SnappyCompression:
		return "snappy"
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

// Default option values.
const (
	// DefaultBlockSize is the default Options.BlockSize, in bytes.
	DefaultBlockSize = 4096
	// DefaultRestartInterval is the default Options.RestartInterval.
	DefaultRestartInterval = 16
	// DefaultBloomBitsPerKey is the default Options.BloomBitsPerKey.
	DefaultBloomBitsPerKey = 10
	// NoFilter, given as BloomBitsPerKey, builds tables without a bloom filter.
	NoFilter = -1
)

// maxBlockSize bounds Options.BlockSize; restart offsets are 32-bit.
const maxBlockSize = 1 << 28

// Options configures a Format. The zero value of every field means its default.
type Options struct {
	// BlockSize is the uncompressed size at which a data block is closed
	// (default 4096). A block holds at least one entry, so it may be larger.
	BlockSize int
	// RestartInterval is the number of entries between restart points of a
	// data block (default 16).
	RestartInterval int
	// BloomBitsPerKey sizes the table's bloom filter (default 10, about a 1%
	// false-positive rate). A negative value (NoFilter) builds no filter.
	BloomBitsPerKey int
	// Compression of data and index blocks (default Snappy).
	Compression Compression
	// Cache, when not nil, holds decompressed data blocks shared by every
	// table the Format opens. The caller closes it after the tables.
	Cache *Cache
}

// EnsureDefaults fills every zero field with its default and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.RestartInterval <= 0 {
		o.RestartInterval = DefaultRestartInterval
	}
	if o.BloomBitsPerKey == 0 {
		o.BloomBitsPerKey = DefaultBloomBitsPerKey
	}
	if o.Compression == DefaultCompression {
		o.Compression = SnappyCompression
	}
	return o
}

// Validate reports options no table can be built with. It expects
// EnsureDefaults to have run.
func (o *Options) Validate() error {
	switch {
	case o.BlockSize <= 0 || o.BlockSize > maxBlockSize:
		return fmt.Errorf("%w: sstable: block size %d out of (0, %d]", iface.ErrInvalidArgument, o.BlockSize, maxBlockSize)
	case o.RestartInterval <= 0:
		return fmt.Errorf("%w: sstable: restart interval %d must be positive", iface.ErrInvalidArgument, o.RestartInterval)
	case o.BloomBitsPerKey > 64:
		return fmt.Errorf("%w: sstable: %d bloom bits per key (at most 64)", iface.ErrInvalidArgument, o.BloomBitsPerKey)
	case o.Compression != NoCompression && o.Compression != SnappyCompression:
		return fmt.Errorf("%w: sstable: unknown %v", iface.ErrInvalidArgument, o.Compression)
	}
	return nil
}
