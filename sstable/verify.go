package sstable

import (
	"bytes"
	"fmt"

	"github.com/nokv/nokv/iface"
)

// Verify reads every data block from the file (bypassing the cache) and
// checks its checksum and structure, that the blocks tile the data area,
// that keys strictly increase across the table and stay within their index
// separators, that the filter holds every user key and that the properties
// match the contents. It returns an *iface.CorruptionError naming the offset
// of the first damage, or an I/O error.
func (r *Reader) Verify() error {
	var idx, data blockIter
	var bufs blockBufs
	idx.init(r.index, r.name, int64(r.indexH.offset))

	var (
		got              iface.TableProps
		blocks           uint64
		next             uint64 // where the next data block must start
		prevKey, prevSep []byte
	)
	err := idx.forEach(func(sep, hval []byte) error {
		if blocks > 0 && iface.Compare(sep, prevSep) <= 0 {
			return iface.Corruptf(r.name, int64(r.indexH.offset), "index separators out of order at entry %d", blocks)
		}
		h, err := r.dataHandle(hval)
		if err != nil {
			return err
		}
		if h.offset != next {
			return iface.Corruptf(r.name, int64(next), "data block %d starts at %d, expected %d", blocks, h.offset, next)
		}
		b, err := r.readBlock(h, &bufs, true)
		if err != nil {
			return err
		}
		data.init(b, r.name, int64(h.offset))
		n := 0
		err = data.forEach(func(k, v []byte) error {
			switch {
			case len(k) < iface.TrailerLen:
				return iface.Corruptf(r.name, int64(h.offset), "key %q shorter than the version trailer", k)
			case got.Entries > 0 && iface.Compare(k, prevKey) <= 0:
				return iface.Corruptf(r.name, int64(h.offset), "key %q does not sort after %q", k, prevKey)
			case iface.Compare(k, sep) > 0:
				return iface.Corruptf(r.name, int64(h.offset), "key %q sorts after the block's index separator %q", k, sep)
			case blocks > 0 && n == 0 && iface.Compare(k, prevSep) <= 0:
				return iface.Corruptf(r.name, int64(h.offset), "key %q does not sort after the previous separator %q", k, prevSep)
			}
			if r.filter.array != nil && (got.Entries == 0 || !iface.SameUserKey(k, prevKey)) &&
				!r.filter.mayContain(bloomHash(iface.UserKey(k))) {
				return iface.Corruptf(r.name, int64(r.filterH.offset), "bloom filter misses user key %q", iface.UserKey(k))
			}
			ver := iface.Version(k)
			if got.Entries == 0 {
				got.Smallest = append([]byte(nil), k...)
				got.MinVersion, got.MaxVersion = ver, ver
			}
			got.MinVersion = min(got.MinVersion, ver)
			got.MaxVersion = max(got.MaxVersion, ver)
			got.Entries++
			if len(v) > 0 && iface.Kind(v[0]).Base() == iface.KindDelete {
				got.Deletions++
			}
			got.RawKeySize += uint64(len(k))
			got.RawValueSize += uint64(len(v))
			prevKey = append(prevKey[:0], k...)
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return iface.Corruptf(r.name, int64(h.offset), "empty data block")
		}
		prevSep = append(prevSep[:0], sep...)
		next = h.end()
		blocks++
		return nil
	})
	if err != nil {
		return err
	}
	if next != r.indexH.offset {
		return iface.Corruptf(r.name, int64(next), "data blocks end at %d, the index starts at %d", next, r.indexH.offset)
	}
	got.Largest = prevKey
	if got.Entries == 0 {
		got.Largest = nil
	}
	if diff := propsDiff(&r.props, &got, r.numBlocks, blocks); diff != "" {
		return iface.Corruptf(r.name, int64(r.propsH.offset), "properties do not match the contents: %s", diff)
	}
	return nil
}

// propsDiff describes the first difference between stored and recomputed
// properties, or returns "".
func propsDiff(stored, got *iface.TableProps, storedBlocks, gotBlocks uint64) string {
	switch {
	case !bytes.Equal(stored.Smallest, got.Smallest):
		return fmt.Sprintf("smallest %q, found %q", stored.Smallest, got.Smallest)
	case !bytes.Equal(stored.Largest, got.Largest):
		return fmt.Sprintf("largest %q, found %q", stored.Largest, got.Largest)
	}
	for _, f := range [...]struct {
		name       string
		stored, at uint64
	}{
		{"entries", stored.Entries, got.Entries},
		{"deletions", stored.Deletions, got.Deletions},
		{"min version", stored.MinVersion, got.MinVersion},
		{"max version", stored.MaxVersion, got.MaxVersion},
		{"raw key size", stored.RawKeySize, got.RawKeySize},
		{"raw value size", stored.RawValueSize, got.RawValueSize},
		{"data blocks", storedBlocks, gotBlocks},
	} {
		if f.stored != f.at {
			return fmt.Sprintf("%s %d, found %d", f.name, f.stored, f.at)
		}
	}
	return ""
}
