package backend

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nokv/nokv/iface"
)

// The commit pipeline.
//
// Writers queue up; the writer at the head of the queue becomes the leader
// and takes a group of queued writers (up to WriteBatchMaxCount batches and
// WriteBatchMaxSize bytes). Holding writeMu, the leader gives every batch
// its version, has the value store write the group's large values, appends
// the group to the log as one record (one write system call) and, if any
// writer asked for it, fsyncs once for all. It then hands leadership to the
// next queued writer, so the next group's log write overlaps this group's
// memtable inserts, which every writer does for its own batch, concurrently
// (in a group of at most leaderInsertMax entries the leader inserts them
// all, then wakes the writers once: cheaper than waking each to insert and
// again at publication).
// A group is published (lastVersion moves past it) only when its writers and
// every earlier group's writers have inserted, so readers see commits in
// version order and never a part of a batch.
//
//	writer:  enqueue -> [leader: version, value store, log append, fsync] -> insert -> wait published
//	                     ^ one leader at a time                                 ^ all in parallel

// writer is one Apply call travelling through the pipeline.
type writer struct {
	batch   *Batch
	sync    bool
	version uint64
	entries []iface.Entry // batch entries after the value store ran
	mem     *memTable     // the memtable the batch goes into
	group   *commitGroup
	skipped bool // every guarded entry failed its guard: nothing written
	// inserted: the batch is in the memtable and counted in its group
	// (the leader of a small group inserts for every writer in it).
	inserted bool
	err      error
	leader   bool          // set when this writer is woken to lead
	wake     chan struct{} // buffered(1): leadership or "logged"
}

// commitGroup is the writers one leader logged together.
type commitGroup struct {
	maxVersion uint64
	pending    atomic.Int32  // writers still inserting
	done       bool          // all inserted (guarded by commitQueue.mu)
	published  bool          // lastVersion has moved past it (guarded by commitQueue.mu)
	ch         chan struct{} // made by the first writer to wait, closed at publication (guarded by commitQueue.mu)
}

// commitQueue holds waiting writers and the groups not yet published.
type commitQueue struct {
	mu      sync.Mutex
	waiting []*writer
	leading bool
	active  atomic.Int32   // writers inside commit
	groups  []*commitGroup // logged, oldest first, not yet published

	allocVersion uint64 // last version handed out (guarded by DB.writeMu)
	scratch      []iface.Entry
}

var writerPool = sync.Pool{New: func() any { return &writer{wake: make(chan struct{}, 1)} }}

// commit runs b through the pipeline; queued, if not nil, is called once b
// is in the queue (see ApplyQueued).
func (db *DB) commit(b *Batch, sync bool, queued func()) error {
	// Hot-key counting and the per-key limit need no order: done before
	// the writer takes its place, outside the serial part.
	if err := db.touchWrites(b, db.opts.WriteHotKeyLimit); err != nil {
		if queued != nil {
			queued()
		}
		return err
	}
	w := writerPool.Get().(*writer)
	*w = writer{batch: b, sync: sync, wake: w.wake}
	defer writerPool.Put(w)

	if !sync && queued == nil && db.cheapLog != nil && db.cheapLog.AppendsAreCheap() {
		// Nothing to share: logging an unsynced batch is a copy into the
		// log's mapping. The writer logs its own batch under writeMu, as a
		// group of one, instead of queueing behind a leader and being woken
		// (a handoff costs more than the copy).
		db.admitGroup([]*writer{w}, b.size)
		db.stats.groups.Add(1)
		return db.finishCommit(w)
	}

	q := &db.commits
	q.active.Add(1)
	defer q.active.Add(-1)
	q.mu.Lock()
	q.waiting = append(q.waiting, w)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if queued != nil {
		queued()
	}
	if !lead {
		<-w.wake
		lead = w.leader // written before the wake-up was sent
	}
	if lead {
		db.lead()
	}
	return db.finishCommit(w)
}

// finishCommit is what a writer does once its group is logged: insert its
// batch, publish, and wait until every earlier group is published too.
func (db *DB) finishCommit(w *writer) error {
	if w.err != nil || w.skipped {
		return w.err
	}
	if !w.inserted {
		db.insertBatch(w)
	}
	g := w.group
	if db.lastVersion.Load() < g.maxVersion {
		q := &db.commits
		q.mu.Lock()
		if !g.published {
			if g.ch == nil {
				g.ch = make(chan struct{})
			}
			ch := g.ch
			q.mu.Unlock()
			<-ch
		} else {
			q.mu.Unlock()
		}
	}
	return w.err
}

// insertBatch inserts a logged writer's batch and counts it done in its
// group. Publication comes before leaving the memtable: a flush that sees
// no writer in flight then also sees every group in it published.
func (db *DB) insertBatch(w *writer) {
	if err := db.insert(w.mem, w.version, w.entries); err != nil {
		// The record is in the log but the memtable could not take it.
		db.setBgErr(err)
		w.err = err
	}
	db.finishInsert(w.group)
	w.mem.inflight.Add(-1)
	w.inserted = true
}

// leaderInsertMax is the most entries a group may hold for its leader to
// insert every batch itself before waking the other writers. Waking a
// writer costs more than inserting a few entries for it; and a writer woken
// to insert must be woken a second time when its group is published, while
// one woken after the leader inserted finds the group published and
// returns. Larger groups insert in parallel, each writer its own batch.
const leaderInsertMax = 256

// lead takes a group from the head of the queue, logs it, and hands
// leadership on. The leader's own batch is always in the group it takes.
func (db *DB) lead() {
	q := &db.commits
	db.gather()
	q.mu.Lock()
	n, size := takeGroup(q.waiting, db.opts.WriteBatchMaxCount, db.opts.WriteBatchMaxSize)
	if n < len(q.waiting) && db.hotKeyQueued(q.waiting) {
		// A backlog the group cannot take, with a hot key in it: widen.
		n, size = takeGroup(q.waiting, widenFactor*db.opts.WriteBatchMaxCount, widenFactor*db.opts.WriteBatchMaxSize)
		db.stats.widenedGroups.Add(1)
	}
	group := make([]*writer, n)
	copy(group, q.waiting[:n])
	q.waiting = append(q.waiting[:0], q.waiting[n:]...)
	q.mu.Unlock()

	db.admitGroup(group, size) // throttle.go: delay while compaction is behind, then logGroup

	q.mu.Lock()
	if len(q.waiting) > 0 {
		next := q.waiting[0]
		next.leader = true
		next.wake <- struct{}{}
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	if len(group) > 1 && groupEntries(group) <= leaderInsertMax {
		for _, w := range group {
			if w.err == nil && !w.skipped {
				db.insertBatch(w)
			}
		}
	}
	for _, w := range group[1:] {
		w.wake <- struct{}{}
	}
	db.stats.groups.Add(1)
}

// groupEntries counts the entries a logged group commits.
func groupEntries(group []*writer) int {
	n := 0
	for _, w := range group {
		n += len(w.entries)
	}
	return n
}

// lockWrite takes writeMu for a commit group. The serial section it guards
// is short (a copy into the log's mapping), so a writer that finds it held
// first yields to other goroutines a few times: parking on the mutex would
// leave its P idle when nothing else is runnable, and waking it costs more
// than the section.
func (db *DB) lockWrite() {
	for range writeLockYields {
		if db.writeMu.TryLock() {
			return
		}
		runtime.Gosched()
	}
	db.writeMu.Lock()
}

// writeLockYields is how many times lockWrite yields before it parks: 8
// cut the time per write of 4 unsynced writers on 2 cores by about 10%
// (BenchmarkWrites/writers=4, medians of 6 runs: 2.24 -> 2.02 us); 32
// did no better.
const writeLockYields = 8

// widenFactor is how much wider a group may be under hot-key pressure.
const widenFactor = 4

// takeGroup returns how many writers from the head of the queue one group
// takes (at most maxCount batches and maxSize bytes, but always the first)
// and their bytes.
func takeGroup(waiting []*writer, maxCount int, maxSize int64) (n int, size int64) {
	for n < len(waiting) && n < maxCount {
		if n > 0 && size+waiting[n].batch.size > maxSize {
			break
		}
		size += waiting[n].batch.size
		n++
	}
	return n, size
}

// hotKeyQueued reports whether a queued batch writes a hot key (a decayed
// count of at least HotKeyGroupThreshold). Writers of one hot key queue up
// behind each other; taking them in fewer, wider groups turns their backlog
// into fewer log writes and fsyncs. Called with the queue locked, only when
// there is a backlog; it looks at the first key of at most 64 batches.
func (db *DB) hotKeyQueued(waiting []*writer) bool {
	th := db.opts.HotKeyGroupThreshold
	if th == 0 {
		return false
	}
	for _, w := range waiting[:min(len(waiting), 64)] {
		if len(w.batch.entries) > 0 && db.hot.Estimate(w.batch.entries[0].Key) >= th {
			return true
		}
	}
	return false
}

// gather lets a leader about to fsync wait, for at most WriteBatchWait, for
// writers that are finishing the previous group and will be back at once:
// without it, synced writers split into two alternating half-size groups.
// The wait only happens when a group would fsync and more writers are in
// the pipeline than in the queue.
func (db *DB) gather() {
	q := &db.commits
	wait := db.opts.WriteBatchWait
	if wait <= 0 {
		return
	}
	var deadline time.Time
	for {
		q.mu.Lock()
		n := len(q.waiting)
		sync := db.opts.SyncWrites
		for _, w := range q.waiting {
			sync = sync || w.sync
		}
		q.mu.Unlock()
		if !sync || int32(n) >= q.active.Load() || n >= db.opts.WriteBatchMaxCount {
			return
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(wait)
		} else if now.After(deadline) {
			return
		}
		runtime.Gosched()
	}
}

// logGroup does the leader's serial part for a group: versions, value
// store, room in the memtable, one log append, at most one fsync. It sets
// each writer's err, version, entries, mem and group.
func (db *DB) logGroup(group []*writer) {
	db.lockWrite()
	defer db.writeMu.Unlock()
	q := &db.commits
	fail := func(err error) {
		for _, w := range group {
			if w.err == nil {
				w.err = err
			}
		}
	}
	if err := db.writable(); err != nil {
		fail(err)
		return
	}
	// Guarded batches are checked against the tree as it is after every
	// earlier group and every earlier writer of this group.
	var written map[string]bool
	for _, w := range group {
		if len(w.batch.guards) > 0 {
			db.awaitPublished(q.allocVersion)
			written = make(map[string]bool)
			break
		}
	}
	// Versions, in queue order; a batch asking for a version that is not
	// above the last one fails alone.
	var live []*writer
	sync := false
	for _, w := range group {
		if w.err != nil {
			continue // refused before it was queued (touchWrites)
		}
		if len(w.batch.guards) > 0 {
			if w.err = db.applyGuards(w, written); w.err != nil || w.skipped {
				continue
			}
		}
		if written != nil {
			for _, e := range w.batch.entries {
				written[string(e.Key)] = true
			}
		}
		v := q.allocVersion + 1
		if w.batch.version != 0 {
			if w.batch.version <= q.allocVersion {
				w.err = fmt.Errorf("%w: batch version %d is not above the last committed version %d",
					iface.ErrInvalidArgument, w.batch.version, q.allocVersion)
				continue
			}
			v = w.batch.version
		}
		q.allocVersion = v
		w.version = v
		live = append(live, w)
		sync = sync || w.sync
	}
	if len(live) == 0 {
		return
	}
	// The value store sees the whole group at once; each writer keeps its
	// own slice of the (copied) entry headers.
	q.scratch = q.scratch[:0]
	var userBytes int64 // what the batches commit: guarded entries that failed are not counted
	for _, w := range live {
		for _, e := range w.batchEntries() {
			e.Version = w.version
			q.scratch = append(q.scratch, e)
			userBytes += int64(len(e.Key) + len(e.Value))
		}
	}
	entries := make([]iface.Entry, len(q.scratch))
	copy(entries, q.scratch)
	head := db.vlogHead() // values of this group go after it
	if err := db.vs.Write(entries); err != nil {
		db.setBgErr(fmt.Errorf("value store write: %w", err))
		fail(err)
		return
	}
	db.recBuf = db.recBuf[:0]
	var need int64
	off := 0
	for _, w := range live {
		n := len(w.batchEntries())
		w.entries = entries[off : off+n : off+n]
		off += n
		db.recBuf = encodeBatch(db.recBuf, w.version, w.entries)
		need += memtableNeed(w.entries)
	}
	mem, err := db.makeRoom(need, head)
	if err != nil {
		fail(err)
		return
	}
	// A failed append may leave part of a record in the log; later records
	// would then sit behind damage. Stop taking writes instead.
	if _, err := db.log.Append(db.recBuf); err != nil {
		db.setBgErr(fmt.Errorf("log append: %w", err))
		fail(err)
		return
	}
	db.stats.walBytes.Add(int64(len(db.recBuf)))
	if sync {
		if err := db.vs.Sync(); err != nil {
			db.setBgErr(fmt.Errorf("value store sync: %w", err))
			fail(err)
			return
		}
		if err := db.log.Sync(); err != nil {
			db.setBgErr(fmt.Errorf("log sync: %w", err))
			fail(err)
			return
		}
		db.stats.walSyncs.Add(1)
	}
	g := &commitGroup{maxVersion: q.allocVersion}
	g.pending.Store(int32(len(live)))
	mem.inflight.Add(int32(len(live)))
	mem.reserved.Add(need)
	for _, w := range live {
		w.mem, w.group = mem, g
	}
	q.mu.Lock()
	q.groups = append(q.groups, g)
	q.mu.Unlock()
	db.stats.userBytes.Add(userBytes)
	db.stats.writes.Add(int64(len(entries)))
	db.stats.batches.Add(int64(len(live)))
}

// batchEntries returns the entries the writer commits: the batch's, or for
// a guarded batch those whose guard held.
func (w *writer) batchEntries() []iface.Entry {
	if w.entries != nil {
		return w.entries
	}
	return w.batch.entries
}

// awaitPublished waits until every version up to v is visible, so lookups
// see every logged write. Writers insert without the leader's lock, so this
// finishes in microseconds.
func (db *DB) awaitPublished(v uint64) {
	for db.lastVersion.Load() < v {
		runtime.Gosched()
	}
}

// applyGuards keeps the guarded entries whose key still has the expected
// newest entry and that no earlier writer of the group writes; it marks the
// writer skipped when none is left.
func (db *DB) applyGuards(w *writer, written map[string]bool) error {
	rs := db.acquire()
	defer rs.v.unref()
	var keep []iface.Entry
	for i, e := range w.batch.entries {
		g := w.batch.guards[i]
		if written[string(e.Key)] {
			continue
		}
		ik, stored, ok, err := db.lookup(rs, e.Key, iface.MaxVersion)
		if err != nil {
			return err
		}
		if ok && iface.Version(ik) == g.version && bytes.Equal(stored, g.stored) {
			keep = append(keep, e)
		}
	}
	if len(keep) == 0 {
		w.skipped = true
		return nil
	}
	w.entries = keep
	return nil
}

// touchWrites counts the batch's keys as written and refuses the batch if
// one of them is over the per-key limit.
func (db *DB) touchWrites(b *Batch, limit uint32) error {
	for i := range b.entries {
		if c := db.hot.Touch(b.entries[i].Key); limit > 0 && c > limit {
			db.stats.hotKeyRejects.Add(1)
			return fmt.Errorf("%w: %q (about %d accesses per %v, limit %d)",
				iface.ErrHotKey, b.entries[i].Key, c/2, db.opts.HotKeyWindow, limit)
		}
	}
	return nil
}

// finishInsert notes that one writer of g has inserted, and publishes every
// group at the head of the queue that is complete.
func (db *DB) finishInsert(g *commitGroup) {
	if g.pending.Add(-1) > 0 {
		return
	}
	q := &db.commits
	q.mu.Lock()
	g.done = true
	for len(q.groups) > 0 && q.groups[0].done {
		h := q.groups[0]
		q.groups = q.groups[1:]
		db.lastVersion.Store(h.maxVersion)
		h.published = true
		if h.ch != nil {
			close(h.ch)
		}
	}
	q.mu.Unlock()
}
