package backend

import (
	"fmt"
	"sync"
	"time"

	"github.com/nokv/nokv/iface"
)

// Write throttling.
//
// Compactions that fall behind leave debt: tables piling up in L0 (and, at a
// discount, in ingest buffers), and bytes the policy still has to rewrite
// (iface.CompactionDebt). Writes slow down before they stop:
//
//	debt:    0 ........ soft limit ........................ hard limit
//	writes:  full speed | delayed: DelayedWriteRate × (1 - pressure) | stall
//
// pressure is how far the debt has gone from the soft limit towards the hard
// one (0 at the soft limit, 1 at the hard), the larger of the L0 signal
// (L0SlowdownWritesThreshold .. L0StopWritesThreshold) and the bytes signal
// (SoftPendingCompactionBytes .. HardPendingCompactionBytes). While delayed,
// the commit leader pays for its group's bytes at the delayed rate before it
// logs them (a token bucket holding up to maxWriteCredit of credit; debts
// under minWriteDelay accumulate rather than sleep); writers arriving
// meanwhile queue up and go in the next, larger group. The wait ends early
// when a flush or compaction installs a version that lowers the pressure.
// At the hard limit makeRoom stalls writes until compactions pay the debt
// down: the last resort.

// Write throttling states, as WriteDebt.State reports them.
const (
	WritesNormal  = "normal"
	WritesDelayed = "delayed"
	WritesStopped = "stopped"
)

// minWriteDelay is the shortest wait a commit group sleeps; smaller debts
// accumulate in the bucket until they reach it.
const minWriteDelay = time.Millisecond

// maxWriteCredit is how far the bucket may fall behind the clock: bytes
// worth that long at the delayed rate go through without waiting (the
// first ones once writes become delayed, and those after a sleep that
// overran).
const maxWriteCredit = 50 * time.Millisecond

// minRateFraction is the share of DelayedWriteRate writes still get just
// below the hard limit.
const minRateFraction = 1.0 / 64

// WriteDebt is the compaction debt writes are throttled by, and what it
// does to them.
type WriteDebt struct {
	L0Tables     int     // tables in L0
	IngestRuns   int     // sorted runs in ingest buffers (distinct Seqs, summed over levels)
	L0Debt       float64 // L0Tables + IngestRuns × IngestTableDebt, against the L0 thresholds
	PendingBytes int64   // the policy's estimate of the bytes compactions still have to rewrite (0 if it offers none)
	// Pressure is how far the debt is from the soft limits towards the hard
	// ones: 0 at (or below) a soft limit, 1 at a hard limit.
	Pressure float64
	// State is WritesNormal, WritesDelayed or WritesStopped.
	State string
	// DelayedWriteRate is the bytes per second writes are let through at
	// while delayed; 0 otherwise.
	DelayedWriteRate int64
}

// throttle caches the debt of the current version and holds the token
// bucket of delayed writes.
type throttle struct {
	mu sync.Mutex
	// v is the version debt was computed for: compared by identity, never
	// read (it holds no reference; at most one stale version's metadata
	// stays reachable through it until the next write).
	v    *version
	debt WriteDebt
	// next is when the bytes let through so far are paid for at the
	// delayed rate; zero when writes are not delayed.
	next time.Time
}

// ensureThrottleDefaults fills the throttling options.
func (o *Options) ensureThrottleDefaults() {
	if o.L0SlowdownWritesThreshold == 0 {
		o.L0SlowdownWritesThreshold = o.L0StopWritesThreshold / 2
		if o.L0SlowdownWritesThreshold == 0 {
			o.L0SlowdownWritesThreshold = -1 // a stop at one table leaves no room to slow down
		}
	}
	if o.IngestTableDebt == 0 {
		o.IngestTableDebt = 0.25
	}
	if o.SoftPendingCompactionBytes == 0 {
		o.SoftPendingCompactionBytes = 64 << 30
	}
	if o.HardPendingCompactionBytes == 0 {
		o.HardPendingCompactionBytes = 256 << 30
	}
	if o.DelayedWriteRate <= 0 {
		o.DelayedWriteRate = 16 << 20
	}
}

// validateThrottle reports throttling options that contradict each other.
func (o *Options) validateThrottle() error {
	if o.L0SlowdownWritesThreshold > 0 && o.L0SlowdownWritesThreshold >= o.L0StopWritesThreshold {
		return fmt.Errorf("%w: L0SlowdownWritesThreshold %d is not below L0StopWritesThreshold %d",
			iface.ErrInvalidArgument, o.L0SlowdownWritesThreshold, o.L0StopWritesThreshold)
	}
	if o.SoftPendingCompactionBytes > 0 && o.HardPendingCompactionBytes > 0 &&
		o.SoftPendingCompactionBytes > o.HardPendingCompactionBytes {
		return fmt.Errorf("%w: SoftPendingCompactionBytes %d is above HardPendingCompactionBytes %d",
			iface.ErrInvalidArgument, o.SoftPendingCompactionBytes, o.HardPendingCompactionBytes)
	}
	return nil
}

// writeDebt measures the debt of a snapshot and what it does to writes.
func (o *Options) writeDebt(s *iface.LevelsSnapshot) WriteDebt {
	var d WriteDebt
	if len(s.Levels) > 0 {
		d.L0Tables = len(s.Levels[0])
	}
	for _, shards := range s.Ingest {
		d.IngestRuns += bufferRuns(shards)
	}
	d.L0Debt = float64(d.L0Tables) + float64(d.IngestRuns)*max(o.IngestTableDebt, 0)
	if cd, ok := o.CompactionPolicy.(iface.CompactionDebt); ok {
		d.PendingBytes = cd.PendingBytes(s)
	}
	p, delayed, stopped := 0.0, false, false
	signal := func(debt, soft, hard float64) {
		switch {
		case hard > 0 && debt >= hard:
			stopped = true
		case soft > 0 && debt >= soft:
			delayed = true
			if hard > soft {
				p = max(p, (debt-soft)/(hard-soft))
			}
		}
	}
	slow, stop := o.L0SlowdownWritesThreshold, o.L0StopWritesThreshold
	if a, ok := o.CompactionPolicy.(iface.L0Allowance); ok {
		if shift := a.L0Allowance() + 1 - slow; slow > 0 && shift > 0 {
			slow += shift
			if stop > 0 {
				stop += shift
			}
		} else if slow <= 0 && stop > 0 && stop <= a.L0Allowance() {
			stop = a.L0Allowance() + 1
		}
	}
	signal(d.L0Debt, float64(slow), float64(stop))
	signal(float64(d.PendingBytes), float64(o.SoftPendingCompactionBytes), float64(o.HardPendingCompactionBytes))
	switch {
	case o.DisableBackgroundWork:
		// Nothing would pay the debt down while writes wait.
		d.State = WritesNormal
	case stopped:
		d.State, d.Pressure = WritesStopped, 1
	case delayed:
		d.State, d.Pressure = WritesDelayed, p
		d.DelayedWriteRate = max(int64(float64(o.DelayedWriteRate)*max(1-p, minRateFraction)), 1)
	default:
		d.State = WritesNormal
	}
	return d
}

// debtOf returns the debt of v, from the cache when v is the version it
// was computed for. v must stay alive during the call (a reference, or mu
// held); mu may be held or not.
func (db *DB) debtOf(v *version) WriteDebt {
	t := &db.throttle
	t.mu.Lock()
	if t.v == v {
		d := t.debt
		t.mu.Unlock()
		return d
	}
	t.mu.Unlock()
	d := db.opts.writeDebt(v.snapshot(nil))
	t.mu.Lock()
	t.v, t.debt = v, d
	t.mu.Unlock()
	return d
}

// currentDebt returns the debt of the current version and the version, or
// ok false when the DB is closing.
func (db *DB) currentDebt() (d WriteDebt, v *version, ok bool) {
	db.mu.RLock()
	if db.closing || db.current == nil {
		db.mu.RUnlock()
		return WriteDebt{}, nil, false
	}
	v = db.current
	t := &db.throttle
	t.mu.Lock()
	if t.v == v {
		d = t.debt
		t.mu.Unlock()
		db.mu.RUnlock()
		return d, v, true
	}
	t.mu.Unlock()
	v.ref()
	db.mu.RUnlock()
	d = db.debtOf(v)
	v.unref()
	return d, v, true
}

// stopWritesLocked reports whether writes must stall until compactions pay
// the debt down (the hard limit). Called with mu held.
//
// A stop lasts only while compaction can pay the debt down: with no
// compaction running and none the policy would plan (a stop threshold
// below the policy's own trigger, say), writers would wait forever, so
// they go on.
func (db *DB) stopWritesLocked() bool {
	if db.opts.DisableBackgroundWork || db.current == nil {
		return false
	}
	if db.debtOf(db.current).State != WritesStopped {
		return false
	}
	if db.compactions.Running() == 0 && db.opts.CompactionPolicy.Pick(db.current.snapshot(nil)) == nil {
		db.stats.uselessStops.Add(1)
		return false
	}
	return true
}

// admitGroup is the commit leader's log stage with throttling in front: it
// delays the group while compaction is behind, then logs it.
func (db *DB) admitGroup(group []*writer, size int64) {
	db.delayWrite(size)
	db.logGroup(group)
}

// delayWrite makes a commit group of n bytes wait its turn at the delayed
// write rate while the debt is between the soft and the hard limits. It
// waits on cond (which flushes, compactions and Close signal) with a timer,
// never spinning, and returns early when the pressure drops.
func (db *DB) delayWrite(n int64) {
	if db.opts.DisableBackgroundWork || db.writeFast.Load() {
		return
	}
	d, v, ok := db.currentDebt()
	if !ok {
		return
	}
	t := &db.throttle
	if d.State != WritesDelayed {
		t.mu.Lock()
		t.next = time.Time{}
		t.mu.Unlock()
		return
	}
	now := time.Now()
	t.mu.Lock()
	// Credit of up to maxWriteCredit carries over, so a sleep that overran
	// (timers are coarse on a busy machine) is made up by the next groups.
	if early := now.Add(-maxWriteCredit); t.next.Before(early) {
		t.next = early
	}
	t.next = t.next.Add(bytesAt(n, d.DelayedWriteRate))
	deadline := t.next
	t.mu.Unlock()
	wait := deadline.Sub(now)
	if wait < minWriteDelay {
		return
	}

	var fired bool // guarded by mu
	timer := time.AfterFunc(wait, func() {
		db.mu.Lock()
		fired = true
		db.cond.Broadcast()
		db.mu.Unlock()
	})
	rate := d.DelayedWriteRate
	db.mu.Lock()
	for !fired && !db.closing && db.bgErr == nil {
		if db.current != v {
			// A flush or compaction finished: look at the debt again.
			v = db.current
			v.ref()
			db.mu.Unlock()
			d = db.debtOf(v)
			v.unref()
			if d.State != WritesDelayed {
				// Normal: go on. Stopped: makeRoom stalls the group.
				db.mu.Lock()
				break
			}
			if d.DelayedWriteRate != rate {
				// Pay what is left at the new rate.
				now := time.Now()
				left := time.Duration(float64(deadline.Sub(now)) * float64(rate) / float64(d.DelayedWriteRate))
				deadline, rate = now.Add(left), d.DelayedWriteRate
				t.mu.Lock()
				t.next = deadline
				t.mu.Unlock()
				timer.Reset(max(left, 0))
			}
			db.mu.Lock()
			continue
		}
		db.cond.Wait()
	}
	db.mu.Unlock()
	timer.Stop()
	if d.State != WritesDelayed {
		t.mu.Lock()
		t.next = time.Time{}
		t.mu.Unlock()
	}
	db.stats.delays.Add(1)
	db.stats.delayNanos.Add(int64(time.Since(now)))
}

// bytesAt is how long n bytes take at rate bytes per second.
func bytesAt(n, rate int64) time.Duration {
	return time.Duration(float64(n) / float64(rate) * float64(time.Second))
}

// updateWriteFastLocked sets writeFast: the store is open, has no
// background error, and the current version owes no write debt, so a
// commit needs none of the checks that take mu (writable, delayWrite and
// makeRoom's stall checks). Called with mu held wherever one of these
// changes: a version install, Close, a background error. (Leaving the
// delayed state no longer resets the throttle's schedule: when delays
// resume, a schedule in the past is clamped to at most maxWriteCredit of
// credit, as a reset one was.)
func (db *DB) updateWriteFastLocked() {
	ok := !db.closing && db.bgErr == nil && db.current != nil
	if ok && !db.opts.DisableBackgroundWork {
		ok = db.debtOf(db.current).State == WritesNormal
	}
	db.writeFast.Store(ok)
}
