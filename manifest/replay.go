package manifest

import (
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
			// Only the end of the file can look torn: the record layer
			// checksums every length, so damage mid-file is corruption.
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
