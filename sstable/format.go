package sstable

import (
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// Format makes builders and readers of sstable/v1 tables. It is safe for
// concurrent use.
type Format struct {
	opts   Options
	optErr error // from Validate; builders report it on first use
}

var _ iface.TableFormat = (*Format)(nil)

// New returns a Format with opts (defaults filled in). Invalid options are
// reported by the builders' Add and Finish; reading needs no options but the
// cache.
func New(opts Options) *Format {
	opts.EnsureDefaults()
	return &Format{opts: opts, optErr: opts.Validate()}
}

// Name returns "sstable/v1", the name recorded in the manifest.
func (f *Format) Name() string { return formatName }

// Options returns the options in effect, defaults filled in.
func (f *Format) Options() Options { return f.opts }

// NewBuilder returns a *Builder writing a new table to file, which must be
// empty and open for writing.
func (f *Format) NewBuilder(file vfs.File) iface.TableBuilder {
	return newBuilder(f.opts, file, f.optErr)
}

// Open reads the table in file (size bytes long) and returns a *Reader. The
// reader owns file from then on and closes it on Close, or at once if Open
// fails. fileNum keys the table's blocks in the shared cache; name is used in
// errors. Damage is an *iface.CorruptionError; an unknown format version is
// an iface.ErrIncompatible.
func (f *Format) Open(file vfs.File, name string, fileNum uint64, size int64) (iface.Table, error) {
	r, err := openReader(file, name, fileNum, size, f.opts.Cache)
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	return r, nil
}
