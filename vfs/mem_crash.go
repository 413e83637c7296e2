package vfs

import (
	"bytes"
	"math/rand/v2"
	"sort"
)

// Crash simulates a power loss. It freezes m, so that every later operation on
// m, on a File opened from it or on a lock taken from it fails with an error
// wrapping ErrCrashed, and returns a new MemFS holding only the durable state:
// the synced directory entries, each pointing at its inode's synced bytes (see
// SetTornWrites for the one exception). Locks are not carried over; the
// torn-writes setting is. If m has already crashed, Crash returns the state
// captured at that first crash (the same *MemFS as Recovered).
func (m *MemFS) Crash() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.crashed {
		m.crashLocked()
	}
	return m.recovered
}

// CrashAfter arms m so that its n-th mutating operation from now (counting
// from 1) does not happen: m crashes at that instant, as Crash does, and the
// operation returns an error wrapping ErrCrashed. The mutating operations are
// Create, OpenAppend, Remove, Rename, MkdirAll and SyncDir on the FS, and Write,
// Sync and Truncate on its Files; each call counts once, whether it would have
// succeeded or not. n <= 0 disarms m. Use Recovered to get the state the crash
// left, and MutatingOps on a first run to learn how many crash points a
// workload has.
func (m *MemFS) CrashAfter(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.countdown = max(n, 0)
}

// Crashed reports whether m has crashed.
func (m *MemFS) Crashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.crashed
}

// Recovered returns the durable state captured when m crashed, or nil if m has
// not crashed. It returns the same *MemFS every time.
func (m *MemFS) Recovered() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recovered
}

// MutatingOps returns how many mutating operations (see CrashAfter) m has
// counted since it was made. The operation a CrashAfter crash stops is counted;
// nothing is counted after a crash.
func (m *MemFS) MutatingOps() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops
}

// SetTornWrites makes later crashes of m keep, for each file whose current
// bytes extend its synced bytes (it was only appended to since its last Sync),
// a prefix of random length (possibly empty, possibly all) of the unsynced
// tail, as when a write reaches the disk only in part. rng decides the lengths;
// files are visited in path order, so a seeded rng gives a reproducible crash.
// rng is used under m's lock and must not be shared with concurrent users. A
// nil rng turns the mode off: a crash drops every unsynced byte.
func (m *MemFS) SetTornWrites(rng *rand.Rand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.torn = rng
}

// crashLocked freezes m and records its durable state in m.recovered. m.mu
// must be held.
func (m *MemFS) crashLocked() {
	m.crashed = true
	m.countdown = 0
	r := NewMem()
	r.torn = m.torn
	seen := map[*memNode]*memNode{m.root: r.root}
	m.recoverDir(m.root, r.root, seen)
	m.recovered = r
}

// recoverDir fills the recovered directory to from the durable entries of
// from. seen maps old inodes to recovered ones, so an inode durable under two
// names (a rename synced in only one of two directories) stays one inode.
func (m *MemFS) recoverDir(from, to *memNode, seen map[*memNode]*memNode) {
	names := make([]string, 0, len(from.durable))
	for name := range from.durable {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		old := from.durable[name]
		n, ok := seen[old]
		if !ok {
			if old.dir {
				n = newDirNode()
				seen[old] = n
				m.recoverDir(old, n, seen)
			} else {
				n = &memNode{}
				seen[old] = n
				keep := m.survivingBytes(old)
				n.data, n.synced = keep, keep
			}
		}
		to.cur[name] = n
		to.durable[name] = n
	}
}

// survivingBytes returns what a crash leaves of a file's bytes, capped so that
// appends in the recovered MemFS never write into the old arrays.
func (m *MemFS) survivingBytes(n *memNode) []byte {
	keep := n.synced
	if m.torn != nil && len(n.data) > len(n.synced) && bytes.HasPrefix(n.data, n.synced) {
		keep = n.data[:len(n.synced)+m.torn.IntN(len(n.data)-len(n.synced)+1)]
	}
	return keep[:len(keep):len(keep)]
}
