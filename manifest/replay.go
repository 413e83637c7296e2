package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// replayed is what reading a manifest file yields.
type replayed struct {
	state   *State
	records int   // complete records (edits) read
	good    int64 // end of the last complete record
	// torn is set when the file ends in a torn tail starting at good.
	torn *record.TornError
}

// replay reads every edit of the manifest file f (size bytes, called name in
// errors) and applies it to an empty state. A torn tail is returned in the
// result, not as an error; any other damage is an error naming the offset.
func replay(f vfs.File, name string, size int64) (*replayed, error) {
	r := &replayed{state: &State{}}
	rd := record.NewReader(f, name, size, 0)
	for {
		payload, off, err := rd.Next()
		if err == io.EOF {
			break
		}
		if te := (*record.TornError)(nil); errors.As(err, &te) {
			// A record that merely looks torn may be a damaged length or
			// checksum in the middle of the file: a complete, valid record
			// after it proves that, and nothing then may be dropped.
			next, found, serr := findRecord(f, name, size, off)
			if serr != nil {
				return nil, serr
			}
			if found {
				return nil, iface.Corruptf(name, off,
					"damaged record (%s), yet a valid record follows at offset %d", te.Reason, next)
			}
			r.torn = te
			break
		}
		if err != nil {
			return nil, err
		}
		e, err := DecodeEdit(payload)
		if err != nil {
			var ut *unknownTagError
			if errors.As(err, &ut) {
				return nil, fmt.Errorf("%s at offset %d: %w", name, off, err)
			}
			return nil, iface.Corruptf(name, off, "undecodable edit: %v", err)
		}
		if err := r.state.Apply(e); err != nil {
			return nil, iface.Corruptf(name, off, "edit does not apply to the state before it: %v", err)
		}
		r.records++
		r.good = rd.Offset()
	}
	return r, nil
}

// findRecord looks for a complete record with a valid checksum starting
// after offset from, and returns its offset. Every candidate's payload is
// first checked to look like an edit (known field tags, lengths in bounds),
// which keeps the scan linear in practice. A genuine torn tail is a prefix
// of one edit, which does not contain such a record.
func findRecord(f vfs.File, name string, size, from int64) (int64, bool, error) {
	buf := make([]byte, size-from)
	if _, err := f.ReadAt(buf, from); err != nil && !(errors.Is(err, io.EOF)) {
		return 0, false, fmt.Errorf("read %s at %d: %w", name, from, err)
	}
	const frame = record.HeaderLen + record.TrailerLen
	for i := 1; i+frame <= len(buf); i++ {
		n := int(binary.LittleEndian.Uint32(buf[i:]))
		if n > len(buf)-i-frame {
			continue
		}
		payload := buf[i+record.HeaderLen : i+record.HeaderLen+n]
		if !looksLikeEdit(payload) {
			continue
		}
		want := binary.LittleEndian.Uint32(buf[i+record.HeaderLen+n:])
		if record.Checksum(buf[i:i+record.HeaderLen+n]) == want {
			return from + int64(i), true, nil
		}
	}
	return 0, false, nil
}

// looksLikeEdit walks the field headers of b: every tag must be one this
// build knows and every field must fit.
func looksLikeEdit(b []byte) bool {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 || tag == 0 || tag > tagLast {
			return false
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return false
		}
		b = b[n+int(l):]
	}
	return true
}
