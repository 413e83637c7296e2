package vlog

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// Verify checks the value log in dir without changing it, for `nokv check`:
// every segment's header, every record's checksums, and the DISCARD file. A
// missing directory holds no value log and is fine. The first problem is
// returned as an *iface.CorruptionError naming the file and the offset
// (iface.ErrIncompatible for a newer format version). A torn tail is
// reported too: Open trims it, so a store closed after a clean Open never
// has one.
//
// Verify checks the files on their own; whether every pointer in the tree
// resolves is checked by reading it through a store from OpenReadOnly.
func Verify(fsys vfs.FS, dir string) error {
	if _, err := fsys.Stat(dir); errors.Is(err, iofs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("vlog: verify %s: %w", dir, err)
	}
	files, _, err := listSegments(fsys, dir)
	if err != nil {
		return err
	}
	for _, sf := range files {
		if err := verifySegment(fsys, filepath.Join(dir, sf.name), sf.num); err != nil {
			return err
		}
	}
	if _, err := readDiscard(fsys, filepath.Join(dir, discardName)); err != nil {
		return err
	}
	return nil
}

func verifySegment(fsys vfs.FS, path string, num uint32) error {
	f, err := fsys.Open(path)
	if err != nil {
		return fmt.Errorf("vlog: verify: %w", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("vlog: verify: size of %s: %w", path, err)
	}
	if size < SegmentHeaderLen {
		return iface.Corruptf(path, 0, "segment of %d bytes is shorter than its %d-byte header", size, SegmentHeaderLen)
	}
	sc := newScanner(f, path, 0, size)
	hdr, err := sc.read(SegmentHeaderLen, 0)
	if err != nil {
		return fmt.Errorf("vlog: verify: %w", err)
	}
	switch problem, reason := checkSegmentHeader(hdr, num); problem {
	case headerOK:
	case headerNewVersion:
		return fmt.Errorf("vlog: %s: %w: %s", path, iface.ErrIncompatible, reason)
	default:
		return iface.Corruptf(path, 0, "%s", reason)
	}
	sc.off = SegmentHeaderLen
	for {
		_, _, err := sc.next()
		if err == nil {
			continue
		}
		if err == io.EOF {
			return nil
		}
		var torn *tornError
		if errors.As(err, &torn) {
			return iface.Corruptf(path, torn.offset, "torn tail: %s", torn.reason)
		}
		if errors.Is(err, iface.ErrCorruption) {
			return err
		}
		return fmt.Errorf("vlog: verify: %w", err)
	}
}
