package sstable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// Reader reads one table. The index, filter and properties are held in
// memory; data blocks are read on demand, through the Cache when there is
// one. All methods may be called concurrently, except Close, after which the
// Reader must not be used.
type Reader struct {
	f       vfs.File
	name    string
	fileNum uint64
	size    int64
	cache   *Cache

	index     []byte // contents of the index block
	indexH    handle // its offset is also the end of the data blocks
	filterH   handle
	propsH    handle
	filter    bloom
	props     iface.TableProps
	numBlocks uint64
}

var (
	_ iface.Table    = (*Reader)(nil)
	_ iface.Verifier = (*Reader)(nil)
)

// blockBufs are reusable buffers for reading blocks that are not kept.
type blockBufs struct {
	raw, dec []byte
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func openReader(f vfs.File, name string, fileNum uint64, size int64, cache *Cache) (*Reader, error) {
	r := &Reader{f: f, name: name, fileNum: fileNum, size: size, cache: cache}
	if size < footerLen {
		return nil, iface.Corruptf(name, 0, "file of %d bytes is shorter than the %d-byte footer", size, footerLen)
	}
	footOff := size - footerLen
	var ft [footerLen]byte
	if err := r.readAt(ft[:], footOff); err != nil {
		return nil, err
	}
	if m := binary.LittleEndian.Uint64(ft[56:]); m != magic {
		return nil, iface.Corruptf(name, footOff, "bad magic %#016x, expected %#016x", m, magic)
	}
	if stored, got := binary.LittleEndian.Uint32(ft[52:]), blockChecksum(ft[:52]); stored != got {
		return nil, iface.Corruptf(name, footOff, "footer checksum %08x, computed %08x", stored, got)
	}
	if v := binary.LittleEndian.Uint32(ft[48:]); v != formatVersion {
		return nil, fmt.Errorf("%w: sstable %s: format version %d, this build reads %d", iface.ErrIncompatible, name, v, formatVersion)
	}
	var hs [3]handle
	for i := range hs {
		hs[i] = handle{binary.LittleEndian.Uint64(ft[16*i:]), binary.LittleEndian.Uint64(ft[16*i+8:])}
		if hs[i].offset > uint64(size) || hs[i].length > uint64(size) {
			return nil, iface.Corruptf(name, footOff, "block handle %d past the end of the file", i)
		}
	}
	r.indexH, r.filterH, r.propsH = hs[0], hs[1], hs[2]
	// The meta blocks and the footer must tile the end of the file.
	tiled := r.propsH.end() == uint64(footOff)
	if r.filterH != (handle{}) {
		tiled = tiled && r.filterH.end() == r.propsH.offset && r.indexH.end() == r.filterH.offset
	} else {
		tiled = tiled && r.indexH.end() == r.propsH.offset
	}
	if !tiled {
		return nil, iface.Corruptf(name, footOff, "index, filter and properties blocks do not tile the file")
	}

	var err error
	if r.index, err = r.readBlock(r.indexH, nil, true); err != nil {
		return nil, err
	}
	if r.filterH != (handle{}) {
		b, err := r.readBlock(r.filterH, nil, false)
		if err != nil {
			return nil, err
		}
		var ok bool
		if r.filter, ok = decodeBloom(b); !ok {
			return nil, iface.Corruptf(name, int64(r.filterH.offset), "malformed filter block")
		}
	}
	b, err := r.readBlock(r.propsH, nil, false)
	if err != nil {
		return nil, err
	}
	var ok bool
	if r.props, r.numBlocks, ok = decodeProps(b); !ok {
		return nil, iface.Corruptf(name, int64(r.propsH.offset), "malformed properties block")
	}
	r.props.FileSize = uint64(size)
	// The index has one entry, and one restart point, per data block.
	if n := uint64(binary.LittleEndian.Uint32(r.index[len(r.index)-4:])); n != r.numBlocks {
		return nil, iface.Corruptf(name, int64(r.indexH.offset), "index has %d entries, properties say %d data blocks", n, r.numBlocks)
	}
	if (r.numBlocks == 0) != (r.props.Entries == 0) || (r.numBlocks == 0) != (r.indexH.offset == 0) {
		return nil, iface.Corruptf(name, int64(r.propsH.offset), "%d entries in %d data blocks ending at %d", r.props.Entries, r.numBlocks, r.indexH.offset)
	}
	return r, nil
}

// readAt fills p from off; a short file is corruption.
func (r *Reader) readAt(p []byte, off int64) error {
	n, err := r.f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return iface.Corruptf(r.name, off, "file ends inside %d bytes read at %d", len(p), off)
	}
	return fmt.Errorf("sstable: read %s at %d: %w", r.name, off, err)
}

// readBlock reads the block at h, checks its checksum, decompresses it and,
// for data and index blocks (structured), checks its restart array. With
// bufs nil the result is freshly allocated and may be kept; otherwise it
// aliases bufs until their next use.
func (r *Reader) readBlock(h handle, bufs *blockBufs, structured bool) ([]byte, error) {
	off := int64(h.offset)
	if h.end() > uint64(r.size) || h.end() < h.offset {
		return nil, iface.Corruptf(r.name, off, "block of %d bytes runs past the end of the file (%d bytes)", h.length, r.size)
	}
	n := int(h.length) + trailerLen
	var raw []byte
	if bufs == nil {
		raw = make([]byte, n)
	} else {
		bufs.raw = grow(bufs.raw, n)
		raw = bufs.raw
	}
	if err := r.readAt(raw, off); err != nil {
		return nil, err
	}
	contents := raw[:h.length]
	if stored, got := binary.LittleEndian.Uint32(raw[h.length+1:]), blockChecksum(raw[:h.length+1]); stored != got {
		return nil, iface.Corruptf(r.name, off, "block checksum %08x, computed %08x", stored, got)
	}
	switch typ := raw[h.length]; typ {
	case blockTypeNone:
	case blockTypeSnappy:
		dlen, err := snappy.DecodedLen(contents)
		// Snappy expands at most ~22x; a larger claim is damage, not data.
		if err != nil || dlen > 32*len(contents)+64 {
			return nil, iface.Corruptf(r.name, off, "bad snappy block header")
		}
		var dst []byte
		if bufs == nil {
			dst = make([]byte, dlen)
		} else {
			bufs.dec = grow(bufs.dec, dlen)
			dst = bufs.dec
		}
		if contents, err = snappy.Decode(dst, contents); err != nil {
			return nil, iface.Corruptf(r.name, off, "snappy: %v", err)
		}
	default:
		return nil, iface.Corruptf(r.name, off, "unknown block compression type %d", typ)
	}
	if structured {
		if reason := checkBlock(contents); reason != "" {
			return nil, iface.Corruptf(r.name, off, "%s", reason)
		}
	}
	return contents, nil
}

// dataHandle decodes an index value and checks it lies in the data area.
func (r *Reader) dataHandle(v []byte) (handle, error) {
	h, ok := decodeHandle(v)
	if !ok || h.end() > r.indexH.offset {
		return handle{}, iface.Corruptf(r.name, int64(r.indexH.offset), "index holds a bad data block handle")
	}
	return h, nil
}

// dataBlock returns the contents of the data block at h, from the cache when
// possible. Without a cache the result aliases bufs.
func (r *Reader) dataBlock(h handle, bufs *blockBufs) ([]byte, error) {
	if r.cache == nil {
		return r.readBlock(h, bufs, true)
	}
	if b, ok := r.cache.get(r.fileNum, h.offset); ok {
		return b, nil
	}
	b, err := r.readBlock(h, nil, true)
	if err == nil {
		r.cache.set(r.fileNum, h.offset, b)
	}
	return b, err
}

// getState is the scratch space of one Get, pooled.
type getState struct {
	index, data blockIter
	bufs        blockBufs
}

var getPool = sync.Pool{New: func() any { return new(getState) }}

// Get finds the newest entry whose user key equals iface.UserKey(ikey) and
// whose version is at most iface.Version(ikey): the first entry >= ikey, if
// it has the same user key. The bloom filter is consulted first. The
// returned key and value are copies the caller may keep.
func (r *Reader) Get(ikey []byte) (key, value []byte, ok bool, err error) {
	if r.filter.array != nil && !r.filter.mayContain(bloomHash(iface.UserKey(ikey))) {
		return nil, nil, false, nil
	}
	g := getPool.Get().(*getState)
	defer func() {
		g.index.release()
		g.data.release()
		getPool.Put(g)
	}()
	g.index.init(r.index, r.name, int64(r.indexH.offset))
	if !g.index.SeekGE(ikey) {
		return nil, nil, false, g.index.err
	}
	for {
		h, err := r.dataHandle(g.index.val)
		if err != nil {
			return nil, nil, false, err
		}
		b, err := r.dataBlock(h, &g.bufs)
		if err != nil {
			return nil, nil, false, err
		}
		g.data.init(b, r.name, int64(h.offset))
		if g.data.SeekGE(ikey) {
			if !iface.SameUserKey(g.data.key, ikey) {
				return nil, nil, false, nil
			}
			k, v := g.data.key, g.data.val
			buf := make([]byte, len(k)+len(v))
			copy(buf, k)
			copy(buf[len(k):], v)
			return buf[:len(k):len(k)], buf[len(k):], true, nil
		}
		if g.data.err != nil {
			return nil, nil, false, g.data.err
		}
		// Every key of this block is < ikey; the answer may open the next.
		if !g.index.Next() {
			return nil, nil, false, g.index.err
		}
	}
}

// Props returns the table's properties. The keys alias the reader's copy and
// must not be modified.
func (r *Reader) Props() iface.TableProps { return r.props }

// ApproximateOffset returns the offset of the data block where ikey would be,
// or the end of the data blocks for a key past the last one.
func (r *Reader) ApproximateOffset(ikey []byte) uint64 {
	var it blockIter
	it.init(r.index, r.name, int64(r.indexH.offset))
	if it.SeekGE(ikey) {
		if h, ok := decodeHandle(it.val); ok && h.offset < r.indexH.offset {
			return h.offset
		}
	}
	return r.indexH.offset
}

// NewIterator returns an iterator over every entry of the table. See
// iface.Iterator; a Next (Prev) on an iterator that has never been positioned,
// or that ran off the start (end), acts as First (Last).
func (r *Reader) NewIterator() iface.Iterator {
	it := &tableIter{r: r}
	it.index.init(r.index, r.name, int64(r.indexH.offset))
	return it
}

// Close closes the table's file.
func (r *Reader) Close() error {
	return r.f.Close()
}
