package sstable

import (
	"encoding/binary"

	"github.com/nokv/nokv/iface"
)

// encodeProps appends the properties block for p (FileSize is not stored) and
// the number of data blocks.
func encodeProps(dst []byte, p *iface.TableProps, numBlocks uint64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p.Smallest)))
	dst = append(dst, p.Smallest...)
	dst = binary.AppendUvarint(dst, uint64(len(p.Largest)))
	dst = append(dst, p.Largest...)
	for _, v := range [...]uint64{p.Entries, p.Deletions, p.MinVersion, p.MaxVersion, p.RawKeySize, p.RawValueSize, numBlocks} {
		dst = binary.AppendUvarint(dst, v)
	}
	return dst
}

// decodeProps parses a properties block strictly: every byte must be used.
// The keys are copied.
func decodeProps(b []byte) (p iface.TableProps, numBlocks uint64, ok bool) {
	bytesField := func() ([]byte, bool) {
		n, m := binary.Uvarint(b)
		if m <= 0 || n > uint64(len(b)-m) {
			return nil, false
		}
		v := append([]byte(nil), b[m:m+int(n)]...)
		b = b[m+int(n):]
		return v, true
	}
	if p.Smallest, ok = bytesField(); !ok {
		return p, 0, false
	}
	if p.Largest, ok = bytesField(); !ok {
		return p, 0, false
	}
	for _, dst := range [...]*uint64{&p.Entries, &p.Deletions, &p.MinVersion, &p.MaxVersion, &p.RawKeySize, &p.RawValueSize, &numBlocks} {
		v, m := binary.Uvarint(b)
		if m <= 0 {
			return p, 0, false
		}
		*dst = v
		b = b[m:]
	}
	return p, numBlocks, len(b) == 0
}
