package sstable

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/s2"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// writeBufferSize is the buffer between the builder and the file.
const writeBufferSize = 256 << 10

var errBuilderDone = errors.New("sstable: builder already finished or aborted")

// Builder writes one table. Data blocks go to the file (through a 256 KiB
// buffer) as they fill; only the index, the filter's key hashes (8 bytes per
// distinct user key) and the current block are held in memory. It is not
// safe for concurrent use, and nothing is durable until Finish returns nil.
type Builder struct {
	opts Options
	f    vfs.File
	w    *bufio.Writer
	err  error // sticky: the first failure, or errBuilderDone

	offset    uint64 // bytes handed to w
	data      blockWriter
	index     blockWriter
	pending   bool // a data block was flushed and awaits its index entry
	pendingH  handle
	lastKey   []byte
	hashes    []uint64
	props     iface.TableProps
	numBlocks uint64
	rawData   uint64 // uncompressed bytes of the data blocks written
	dataOut   uint64 // their bytes on disk

	scratch []byte // index keys and values, meta blocks
	compBuf []byte
}

var _ iface.TableBuilder = (*Builder)(nil)

func newBuilder(opts Options, f vfs.File, optErr error) *Builder {
	b := &Builder{
		opts:  opts,
		f:     f,
		w:     bufio.NewWriterSize(f, writeBufferSize),
		err:   optErr,
		data:  blockWriter{interval: opts.RestartInterval},
		index: blockWriter{interval: 1},
	}
	b.data.buf = make([]byte, 0, opts.BlockSize+opts.BlockSize/4)
	return b
}

// Add appends an entry. Keys must be internal keys (at least
// iface.TrailerLen bytes) in strictly increasing iface.Compare order; an
// out-of-order or short key is an iface.ErrInvalidArgument and leaves the
// builder usable. Add copies key and value.
func (b *Builder) Add(ikey, value []byte) error {
	if b.err != nil {
		return b.err
	}
	if len(ikey) < iface.TrailerLen {
		return fmt.Errorf("%w: sstable: key of %d bytes is shorter than the version trailer", iface.ErrInvalidArgument, len(ikey))
	}
	first := b.props.Entries == 0
	if !first && iface.Compare(ikey, b.lastKey) <= 0 {
		return fmt.Errorf("%w: sstable: key %q does not sort after the previous key %q", iface.ErrInvalidArgument, ikey, b.lastKey)
	}
	if b.pending {
		b.addIndexEntry(separator(b.scratch[:0], b.lastKey, ikey))
	}

	// Properties and filter.
	ukey := iface.UserKey(ikey)
	if first || !iface.SameUserKey(ikey, b.lastKey) {
		if b.opts.BloomBitsPerKey > 0 {
			b.hashes = append(b.hashes, bloomHash(ukey))
		}
	}
	v := iface.Version(ikey)
	if first {
		b.props.Smallest = append([]byte(nil), ikey...)
		b.props.MinVersion, b.props.MaxVersion = v, v
	} else {
		b.props.MinVersion = min(b.props.MinVersion, v)
		b.props.MaxVersion = max(b.props.MaxVersion, v)
	}
	b.props.Entries++
	if len(value) > 0 && iface.Kind(value[0]).Base() == iface.KindDelete {
		b.props.Deletions++
	}
	b.props.RawKeySize += uint64(len(ikey))
	b.props.RawValueSize += uint64(len(value))
	b.lastKey = append(b.lastKey[:0], ikey...)

	b.data.add(ikey, value)
	if b.data.size() >= b.opts.BlockSize {
		return b.flushData()
	}
	return nil
}

// flushData writes the current data block; its index entry waits for the
// next key (or Finish), which bounds the separator.
func (b *Builder) flushData() error {
	if b.data.entries == 0 {
		return nil
	}
	contents := b.data.finish()
	h, err := b.writeBlock(contents, b.opts.Compression == SnappyCompression)
	b.rawData += uint64(len(contents))
	b.dataOut += h.length + trailerLen
	b.data.reset()
	if err != nil {
		return err
	}
	b.pending, b.pendingH = true, h
	b.numBlocks++
	return nil
}

func (b *Builder) addIndexEntry(sep []byte) {
	b.scratch = sep
	n := len(sep)
	b.scratch = b.pendingH.appendTo(b.scratch)
	b.index.add(b.scratch[:n], b.scratch[n:])
	b.pending = false
}

// writeBlock writes contents and its trailer, compressing when asked and
// worthwhile, and returns the block's handle.
func (b *Builder) writeBlock(contents []byte, compress bool) (handle, error) {
	out, typ := contents, blockTypeNone
	if compress {
		if n := s2.MaxEncodedLen(len(contents)); n > 0 {
			if len(b.compBuf) < n {
				b.compBuf = make([]byte, n)
			}
			// EncodeSnappy writes the standard Snappy block format.
			if c := s2.EncodeSnappy(b.compBuf, contents); len(c) <= len(contents)-len(contents)/8 {
				out, typ = c, blockTypeSnappy
			}
		}
	}
	h := handle{offset: b.offset, length: uint64(len(out))}
	var trailer [trailerLen]byte
	trailer[0] = typ
	sum := crc32.Update(blockChecksum(out), crcTable, trailer[:1])
	binary.LittleEndian.PutUint32(trailer[1:], sum)
	if _, err := b.w.Write(out); err != nil {
		return h, b.fail(err)
	}
	if _, err := b.w.Write(trailer[:]); err != nil {
		return h, b.fail(err)
	}
	b.offset += uint64(len(out)) + trailerLen
	return h, nil
}

func (b *Builder) fail(err error) error {
	if b.err == nil {
		b.err = fmt.Errorf("sstable: write: %w", err)
	}
	return b.err
}

// EstimatedSize reports the bytes the table would have if finished now. The
// current block is counted at the compression ratio seen so far.
func (b *Builder) EstimatedSize() int64 {
	cur := uint64(b.data.size())
	if b.rawData > 0 {
		cur = cur * b.dataOut / b.rawData
	}
	size := b.offset + cur + uint64(b.index.size()) + footerLen
	if b.opts.BloomBitsPerKey > 0 {
		size += uint64(len(b.hashes)*b.opts.BloomBitsPerKey/8) + trailerLen
	}
	return int64(size)
}

// Finish writes the last data block, the index, filter and properties blocks
// and the footer, flushes and syncs the file, and returns the table's
// properties (FileSize included). The file is not closed. A table with no
// entries is valid.
func (b *Builder) Finish() (iface.TableProps, error) {
	if b.err != nil {
		return iface.TableProps{}, b.err
	}
	if err := b.flushData(); err != nil {
		return iface.TableProps{}, err
	}
	if b.pending {
		b.addIndexEntry(append(b.scratch[:0], b.lastKey...))
	}
	if b.props.Entries > 0 {
		b.props.Largest = append([]byte(nil), b.lastKey...)
	}
	indexH, err := b.writeBlock(b.index.finish(), b.opts.Compression == SnappyCompression)
	if err != nil {
		return iface.TableProps{}, err
	}
	var filterH handle
	if b.opts.BloomBitsPerKey > 0 {
		b.scratch = buildBloom(b.scratch[:0], b.hashes, b.opts.BloomBitsPerKey)
		if filterH, err = b.writeBlock(b.scratch, false); err != nil {
			return iface.TableProps{}, err
		}
	}
	b.scratch = encodeProps(b.scratch[:0], &b.props, b.numBlocks)
	propsH, err := b.writeBlock(b.scratch, false)
	if err != nil {
		return iface.TableProps{}, err
	}
	footer := encodeFooter(indexH, filterH, propsH)
	if _, err := b.w.Write(footer[:]); err != nil {
		return iface.TableProps{}, b.fail(err)
	}
	b.offset += footerLen
	if err := b.w.Flush(); err != nil {
		return iface.TableProps{}, b.fail(err)
	}
	if err := b.f.Sync(); err != nil {
		return iface.TableProps{}, b.fail(err)
	}
	b.err = errBuilderDone
	props := b.props
	props.FileSize = b.offset
	b.hashes, b.scratch, b.compBuf = nil, nil, nil
	return props, nil
}

// Abort gives up the table: nothing more is written, and the caller removes
// the file.
func (b *Builder) Abort() {
	b.err = errBuilderDone
	b.hashes, b.scratch, b.compBuf = nil, nil, nil
	b.data, b.index = blockWriter{}, blockWriter{}
	b.w.Reset(nil)
}

// separator appends to dst a key S with a <= S < b (iface.Compare order):
// when the user keys differ early enough, a user key shorter than a's with
// the maximum version (whose trailer sorts first), otherwise a itself.
func separator(dst, a, b []byte) []byte {
	ua, ub := iface.UserKey(a), iface.UserKey(b)
	n := min(len(ua), len(ub))
	i := 0
	for i < n && ua[i] == ub[i] {
		i++
	}
	// S = ua[:i] + (ua[i]+1) sorts after ua and before ub; use it only if it
	// is shorter than ua.
	if i < n && i+1 < len(ua) && ua[i] < 0xff && ua[i]+1 < ub[i] {
		dst = append(dst, ua[:i+1]...)
		dst[len(dst)-1]++
		return iface.MakeKey(dst, nil, iface.MaxVersion)
	}
	return append(dst, a...)
}

// encodeFooter lays out the fixed-size footer.
func encodeFooter(index, filter, props handle) [footerLen]byte {
	var f [footerLen]byte
	p := f[:0]
	for _, h := range [...]handle{index, filter, props} {
		p = binary.LittleEndian.AppendUint64(p, h.offset)
		p = binary.LittleEndian.AppendUint64(p, h.length)
	}
	p = binary.LittleEndian.AppendUint32(p, formatVersion)
	p = binary.LittleEndian.AppendUint32(p, blockChecksum(p))
	binary.LittleEndian.AppendUint64(p, magic)
	return f
}
