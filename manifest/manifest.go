package manifest

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

const (
	currentName    = "CURRENT"
	currentTmpName = "CURRENT.tmp"
	manifestPrefix = "MANIFEST-"
	// maxCurrentSize bounds what is read of CURRENT; anything longer is damage.
	maxCurrentSize = 256
)

// DefaultMaxSize is the default of Options.MaxSize: 1 MiB.
const DefaultMaxSize = 1 << 20

// Options configures a Manifest.
type Options struct {
	// MaxSize is the size in bytes past which Apply rewrites the manifest
	// file as a single snapshot. To keep rewrites rare when the snapshot
	// itself is large, a rewrite also waits until the file is twice the size
	// of the snapshot it starts with. 0 means DefaultMaxSize.
	MaxSize int64
}

// EnsureDefaults fills in the zero fields of o with their defaults.
func (o *Options) EnsureDefaults() {
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
}

// Validate reports an error matching iface.ErrInvalidArgument when o holds
// a value out of range.
func (o *Options) Validate() error {
	if o.MaxSize < 0 {
		return fmt.Errorf("%w: manifest: negative MaxSize %d", iface.ErrInvalidArgument, o.MaxSize)
	}
	return nil
}

// Manifest is the durable, append-only log of a store's metadata edits.
// Apply, State and Close may be called concurrently.
type Manifest struct {
	fs   vfs.FS
	dir  string
	opts Options

	// wmu serializes Apply and Close; it guards the fields below it.
	wmu       sync.Mutex
	file      vfs.File // the live manifest, open for appending
	fileNum   uint64   // number of the live manifest
	maxNum    uint64   // largest manifest number seen in the directory
	size      int64    // bytes in the live manifest
	rewriteAt int64    // rewrite once size exceeds this
	payload   []byte   // reused encoding buffers
	rec       []byte
	err       error // sticky: set after a failed write, sync or rewrite
	closed    bool

	// mu guards state. A published state is never modified.
	mu    sync.Mutex
	state *State
}

func manifestName(num uint64) string { return fmt.Sprintf("%s%06d", manifestPrefix, num) }

// parseManifestName returns the number of a file named MANIFEST-NNNNNN.
func parseManifestName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, manifestPrefix)
	if !ok || digits == "" {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 || manifestName(n) != name {
		return 0, false
	}
	return n, true
}

// Open opens the manifest of the store in dir, creating dir and a fresh,
// empty manifest when the directory holds none. It replays every edit,
// truncates a torn tail (an append a crash interrupted, so never
// acknowledged), and deletes stale manifest files a crash left behind. Damage
// is reported as a *iface.CorruptionError naming the file and offset; a
// manifest written by a newer NoKV yields an error matching
// iface.ErrIncompatible. Open does not sync dir's parent.
func Open(fs vfs.FS, dir string, opts Options) (*Manifest, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("manifest: create %s: %w", dir, err)
	}
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("manifest: list %s: %w", dir, err)
	}
	m := &Manifest{fs: fs, dir: dir, opts: opts}
	hasCurrent := false
	var nums []uint64
	for _, name := range names {
		if name == currentName {
			hasCurrent = true
		} else if n, ok := parseManifestName(name); ok {
			nums = append(nums, n)
			m.maxNum = max(m.maxNum, n)
		}
	}
	if hasCurrent {
		num, err := readCurrent(fs, dir)
		if err != nil {
			return nil, err
		}
		if err := m.openExisting(num); err != nil {
			return nil, err
		}
	} else {
		if err := checkInterruptedCreate(fs, dir, nums); err != nil {
			return nil, err
		}
		if err := m.create(); err != nil {
			return nil, err
		}
	}
	m.maxNum = max(m.maxNum, m.fileNum)
	// Stale files: CURRENT.tmp, and manifests CURRENT does not name (the
	// predecessor of a finished rewrite, or the product of an unfinished
	// one). Failing to remove them is harmless; the next Open tries again.
	for _, name := range names {
		if n, ok := parseManifestName(name); (ok && n != m.fileNum) || name == currentTmpName {
			_ = fs.Remove(filepath.Join(dir, name))
		}
	}
	return m, nil
}

// readCurrent returns the number of the manifest CURRENT names, checking
// that the file exists.
func readCurrent(fs vfs.FS, dir string) (uint64, error) {
	path := filepath.Join(dir, currentName)
	content, err := readSmallFile(fs, path, maxCurrentSize)
	if err != nil {
		return 0, err
	}
	name, ok := strings.CutSuffix(string(content), "\n")
	num, valid := parseManifestName(name)
	if !ok || !valid {
		off := 0
		for off < len(content) && off < len(manifestPrefix) && content[off] == manifestPrefix[off] {
			off++
		}
		return 0, iface.Corruptf(path, int64(off), "expected %q followed by a newline, found %q", manifestPrefix+"NNNNNN", content)
	}
	if _, err := fs.Stat(filepath.Join(dir, name)); err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return 0, iface.Corruptf(path, 0, "names %s, which does not exist", name)
		}
		return 0, fmt.Errorf("manifest: stat %s: %w", name, err)
	}
	return num, nil
}

// readSmallFile reads the whole of a file of at most limit bytes; a longer
// one is damage.
func readSmallFile(fs vfs.FS, path string, limit int64) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("manifest: size of %s: %w", path, err)
	}
	if size > limit {
		return nil, iface.Corruptf(path, limit, "file is %d bytes long, at most %d expected", size, limit)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("manifest: read %s: %w", path, err)
	}
	return buf, nil
}

// checkInterruptedCreate decides whether a directory without CURRENT may be
// (re)created: it must hold no manifest, or only MANIFEST-000001 holding at
// most the empty snapshot that creation writes first (possibly torn), which is
// what a crash during creation leaves. Recreating such a store yields exactly
// the state its file holds, so nothing acknowledged can be lost.
func checkInterruptedCreate(fs vfs.FS, dir string, nums []uint64) error {
	if len(nums) == 0 {
		return nil
	}
	currentPath := filepath.Join(dir, currentName)
	if len(nums) > 1 || nums[0] != 1 {
		return iface.Corruptf(currentPath, -1, "missing, but %s holds manifest files (%s, ...): the store is damaged",
			dir, manifestName(nums[0]))
	}
	path := filepath.Join(dir, manifestName(1))
	f, err := fs.Open(path)
	if err != nil {
		return fmt.Errorf("manifest: open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("manifest: size of %s: %w", path, err)
	}
	r, err := replay(f, path, size)
	if err != nil {
		return fmt.Errorf("manifest: %s is missing and %s is damaged: %w", currentPath, path, err)
	}
	if r.records > 1 || !r.state.isEmpty() {
		return iface.Corruptf(currentPath, -1, "missing, but %s holds %d edits: the store is damaged", path, r.records)
	}
	return nil
}

// create writes MANIFEST-000001 holding an empty snapshot and installs it as
// CURRENT.
func (m *Manifest) create() error {
	const num = 1
	st := &State{}
	f, size, err := m.writeSnapshot(num, st)
	if err != nil {
		return err
	}
	if err := setCurrent(m.fs, m.dir, num); err != nil {
		f.Close()
		return fmt.Errorf("manifest: install CURRENT: %w", err)
	}
	m.install(f, num, size, size)
	m.state = st
	return nil
}

// writeSnapshot creates manifest file num holding one record, the snapshot
// of st, and syncs it and the directory. It returns the file, open for
// appending, and its size. On error it removes the file.
func (m *Manifest) writeSnapshot(num uint64, st *State) (vfs.File, int64, error) {
	path := filepath.Join(m.dir, manifestName(num))
	f, err := m.fs.Create(path)
	if err != nil {
		return nil, 0, fmt.Errorf("manifest: create %s: %w", path, err)
	}
	rec := record.Append(nil, st.Snapshot().Encode(nil))
	if _, err = f.Write(rec); err == nil {
		if err = f.Sync(); err == nil {
			err = m.fs.SyncDir(m.dir)
		}
	}
	if err != nil {
		f.Close()
		_ = m.fs.Remove(path)
		return nil, 0, fmt.Errorf("manifest: write %s: %w", path, err)
	}
	return f, int64(len(rec)), nil
}

// setCurrent atomically points CURRENT at manifest num and makes that
// durable. Until the rename CURRENT is untouched; after an error from the
// rename on, which manifest CURRENT names after a crash is unknown.
func setCurrent(fs vfs.FS, dir string, num uint64) error {
	tmp := filepath.Join(dir, currentTmpName)
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(manifestName(num) + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return err
	}
	if err := fs.Rename(tmp, filepath.Join(dir, currentName)); err != nil {
		return err
	}
	return fs.SyncDir(dir)
}

// openExisting replays manifest num, truncating a torn tail.
func (m *Manifest) openExisting(num uint64) error {
	path := filepath.Join(m.dir, manifestName(num))
	f, err := m.fs.OpenAppend(path)
	if err != nil {
		return fmt.Errorf("manifest: open %s: %w", path, err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return fmt.Errorf("manifest: size of %s: %w", path, err)
	}
	r, err := replay(f, path, size)
	if err == nil && r.records == 0 {
		// CURRENT names a file only after its snapshot record is synced.
		err = iface.Corruptf(path, 0, "no complete snapshot record")
	}
	if err == nil && r.good < size {
		if err = f.Truncate(r.good); err == nil {
			err = f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("manifest: truncate torn tail of %s at %d: %w", path, r.good, err)
		}
	}
	if err != nil {
		f.Close()
		return err
	}
	snap := int64(record.Size(len(r.state.Snapshot().Encode(nil))))
	m.install(f, num, r.good, snap)
	m.state = r.state
	return nil
}

// install makes f (manifest num, size bytes, starting with a snapshot record
// of snapSize bytes) the live manifest.
func (m *Manifest) install(f vfs.File, num uint64, size, snapSize int64) {
	m.file, m.fileNum, m.size = f, num, size
	m.rewriteAt = max(m.opts.MaxSize, 2*snapSize)
}

// State returns a copy of the current state, which the caller owns (the key
// bytes of its tables are shared and must not be modified). It reflects every
// Apply that has returned nil.
func (m *Manifest) State() *State {
	m.mu.Lock()
	s := m.state
	m.mu.Unlock()
	return s.Clone()
}

// FileName returns the name (not the path) of the live manifest file.
func (m *Manifest) FileName() string {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	return manifestName(m.fileNum)
}

// Apply validates e against the current state, appends it to the manifest
// and syncs it, then makes it the current state. It returns nil exactly when
// the edit is durable. An edit that does not apply (see State.Apply) is
// refused with an error matching iface.ErrInvalidArgument and changes
// nothing. An empty edit is a no-op.
//
// If a write or sync fails, Apply returns the error; the edit may or may not
// survive a restart, and every later Apply returns the same (sticky) error.
// When the file has outgrown Options.MaxSize, Apply then rewrites it (see the
// package documentation); the edit is already durable, so a failed rewrite
// does not fail this Apply, but it too makes every later Apply fail.
func (m *Manifest) Apply(e *Edit) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if m.closed {
		return fmt.Errorf("manifest: apply: %w", iface.ErrClosed)
	}
	if m.err != nil {
		return m.err
	}
	if e.IsEmpty() {
		return nil
	}
	// A plain copy suffices: State.Apply copies on write, so the published
	// state is never modified. m.state is only replaced under wmu.
	next := new(State)
	*next = *m.state
	if err := next.Apply(e); err != nil {
		return err
	}
	m.payload = e.Encode(m.payload[:0])
	if len(m.payload) > record.MaxPayload {
		return fmt.Errorf("%w: manifest edit of %d bytes exceeds %d", iface.ErrInvalidArgument, len(m.payload), record.MaxPayload)
	}
	m.rec = record.Append(m.rec[:0], m.payload)
	rec := m.rec
	path := filepath.Join(m.dir, manifestName(m.fileNum))
	if _, err := m.file.Write(rec); err != nil {
		return m.fail(fmt.Errorf("write %s: %w", path, err))
	}
	if err := m.file.Sync(); err != nil {
		return m.fail(fmt.Errorf("sync %s: %w", path, err))
	}
	m.size += int64(len(rec))
	m.publish(next)
	if m.size > m.rewriteAt {
		// The edit is durable: a failed rewrite only poisons later Applies.
		_ = m.rewrite(next)
	}
	return nil
}

func (m *Manifest) publish(s *State) {
	m.mu.Lock()
	m.state = s
	m.mu.Unlock()
}

// fail makes err sticky and returns it.
func (m *Manifest) fail(err error) error {
	m.err = fmt.Errorf("manifest: unusable after a failed write (restart to recover): %w", err)
	return m.err
}

// rewrite replaces the live manifest by a new one holding the snapshot of st.
func (m *Manifest) rewrite(st *State) error {
	num := m.maxNum + 1
	f, size, err := m.writeSnapshot(num, st)
	if err != nil {
		return m.fail(fmt.Errorf("rewrite: %w", err))
	}
	if err := setCurrent(m.fs, m.dir, num); err != nil {
		// CURRENT may name either file; both hold the whole state, so
		// neither may be removed, and neither may be appended to.
		f.Close()
		m.maxNum = num
		return m.fail(fmt.Errorf("rewrite: install CURRENT for %s: %w", manifestName(num), err))
	}
	old := filepath.Join(m.dir, manifestName(m.fileNum))
	_ = m.file.Close()
	m.maxNum = num
	m.install(f, num, size, size)
	// Failing to remove it is harmless: Open removes stale manifests.
	_ = m.fs.Remove(old)
	return nil
}

// Close releases the manifest file. Every acknowledged edit is already
// durable, so Close does not sync. Apply fails after Close; State still
// returns the last state. Closing twice returns nil.
func (m *Manifest) Close() error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if err := m.file.Close(); err != nil {
		return fmt.Errorf("manifest: close: %w", err)
	}
	return nil
}
