package backend_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nokv/nokv/backend"
	"github.com/nokv/nokv/compaction/leveled"
	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// pausablePolicy wraps a policy: it plans nothing while paused, and reports
// the compaction debt set in pending (it hides the wrapped policy's own
// estimate).
type pausablePolicy struct {
	iface.CompactionPolicy
	paused  atomic.Bool
	pending atomic.Int64
}

func (p *pausablePolicy) Pick(s *iface.LevelsSnapshot) *iface.CompactionPlan {
	if p.paused.Load() {
		return nil
	}
	return p.CompactionPolicy.Pick(s)
}

func (p *pausablePolicy) PendingBytes(*iface.LevelsSnapshot) int64 { return p.pending.Load() }

var _ iface.CompactionDebt = (*pausablePolicy)(nil)

// throttleValue is 100 incompressible bytes that depend on i.
func throttleValue(i int) []byte {
	v := make([]byte, 100)
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	for j := range v {
		v[j] = byte(rng.Uint32())
	}
	return v
}

// TestWriteThrottleDelaysBeforeStop writes against a store whose
// compactions are paused: as L0 grows past L0SlowdownWritesThreshold the
// commit groups are delayed, at L0StopWritesThreshold writes stop, and once
// compactions run again every write goes in.
func TestWriteThrottleDelaysBeforeStop(t *testing.T) {
	o := smallOptions(vfs.NewMem())
	o.CompactionPolicy = leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4})
	o.L0SlowdownWritesThreshold = 2
	o.L0StopWritesThreshold = 6
	o.DelayedWriteRate = 1 << 20
	db := openTest(t, "db", o)
	// Compactions are planned but held back until the gate opens: the
	// policy has work, the engine is behind.
	gate := make(chan struct{})
	db.SetTestHookBeforeCompaction(func() { <-gate })
	var opened atomic.Bool
	openGate := func() {
		if opened.CompareAndSwap(false, true) {
			close(gate)
		}
	}
	t.Cleanup(openGate) // before the store is closed

	// More than L0StopWritesThreshold tables, the immutable memtables and
	// the active one hold: the writer cannot finish while compactions wait.
	const n = 8000
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := db.Set(key(i), throttleValue(i), nil); err != nil {
				done <- err
				return
			}
			written.Add(1)
		}
		done <- nil
	}()

	deadline := time.After(30 * time.Second)
	var st backend.Stats
	for st = db.Stats(); st.Debt.State != backend.WritesStopped; st = db.Stats() {
		select {
		case err := <-done:
			t.Fatalf("writer finished (err %v) with compactions paused; stats %+v", err, st.Debt)
		case <-deadline:
			t.Fatalf("writes never reached the hard limit: %+v", st.Debt)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if st.WriteDelays == 0 || st.WriteDelayTime <= 0 {
		t.Fatalf("writes stopped without being delayed first: %d delays (%v), debt %+v",
			st.WriteDelays, st.WriteDelayTime, st.Debt)
	}
	if st.Debt.L0Tables < o.L0StopWritesThreshold || st.Debt.Pressure != 1 {
		t.Fatalf("stopped with debt %+v", st.Debt)
	}
	t.Logf("stopped after %d writes: %d delays (%v), debt %+v", written.Load(), st.WriteDelays, st.WriteDelayTime, st.Debt)

	// Compactions catch up: the stalled writer goes on and finishes.
	openGate()
	must(t, db.Compact())
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("writer did not resume after compactions caught up: %+v", db.Stats().Debt)
	}
	// Background compactions may still hold L0 tables: wait for them.
	must(t, db.Flush())
	for wait := time.Now(); ; {
		must(t, db.Compact())
		if st = db.Stats(); st.Debt.State == backend.WritesNormal {
			break
		}
		if time.Since(wait) > 30*time.Second {
			t.Fatalf("debt after compacting: %+v", st.Debt)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.WriteStalls == 0 || st.WriteStallTime <= 0 {
		t.Errorf("the stop was not counted as a stall: %d (%v)", st.WriteStalls, st.WriteStallTime)
	}
	for i := range n {
		got, err := db.Get(key(i))
		if err != nil || !bytes.Equal(got, throttleValue(i)) {
			t.Fatalf("key %d after the stall: %q, %v", i, got, err)
		}
	}
}

// TestWriteThrottlePendingBytes checks the bytes signal: between the soft
// and the hard limit the delayed rate falls in proportion, at the hard
// limit writes stop, and delayed writes are counted.
func TestWriteThrottlePendingBytes(t *testing.T) {
	p := &pausablePolicy{CompactionPolicy: leveled.New(leveled.Options{})}
	p.paused.Store(true)
	o := smallOptions(vfs.NewMem())
	o.CompactionPolicy = p
	o.SoftPendingCompactionBytes = 1000
	o.HardPendingCompactionBytes = 2000
	o.DelayedWriteRate = 1 << 20
	db := openTest(t, "db", o)

	// The debt is measured once per version; a flush makes a new one.
	setDebt := func(pending int64) backend.WriteDebt {
		t.Helper()
		p.pending.Store(pending)
		must(t, db.Set([]byte(fmt.Sprintf("flush%d", pending)), []byte("x"), nil))
		must(t, db.Flush())
		return db.Stats().Debt
	}
	if d := setDebt(500); d.State != backend.WritesNormal || d.Pressure != 0 || d.DelayedWriteRate != 0 || d.PendingBytes != 500 {
		t.Fatalf("below the soft limit: %+v", d)
	}
	d := setDebt(1500)
	if d.State != backend.WritesDelayed || d.Pressure != 0.5 || d.DelayedWriteRate != 512<<10 {
		t.Fatalf("halfway to the hard limit: %+v", d)
	}
	// At least 1024 × 109 bytes at 512 KiB/s, less 50ms of credit: the
	// writes cannot take less than about 160ms (a lower bound the
	// throttle guarantees, whatever the machine's speed).
	before := db.Stats()
	start := time.Now()
	for i := range 1024 {
		must(t, db.Set(key(i), make([]byte, 100), nil))
	}
	elapsed := time.Since(start)
	after := db.Stats()
	if after.WriteDelays <= before.WriteDelays || after.WriteDelayTime <= before.WriteDelayTime || elapsed < 100*time.Millisecond {
		t.Fatalf("writes between the limits were not delayed: %d -> %d delays, %v -> %v, %v in all",
			before.WriteDelays, after.WriteDelays, before.WriteDelayTime, after.WriteDelayTime, elapsed)
	}
	if d := setDebt(2000); d.State != backend.WritesStopped || d.Pressure != 1 {
		t.Fatalf("at the hard limit: %+v", d)
	}
}

// TestWriteThrottleOptions checks the defaults and the contradictions
// Validate refuses.
func TestWriteThrottleOptions(t *testing.T) {
	o := (&backend.Options{}).EnsureDefaults()
	if o.L0SlowdownWritesThreshold != 12 || o.L0StopWritesThreshold != 24 || o.IngestTableDebt != 0.25 ||
		o.SoftPendingCompactionBytes != 64<<30 || o.HardPendingCompactionBytes != 256<<30 || o.DelayedWriteRate != 16<<20 {
		t.Fatalf("defaults: %+v", o)
	}
	for _, o := range []*backend.Options{
		{L0SlowdownWritesThreshold: 8, L0StopWritesThreshold: 8},
		{SoftPendingCompactionBytes: 2 << 30, HardPendingCompactionBytes: 1 << 30},
	} {
		o.FS = vfs.NewMem()
		if db, err := backend.Open("db", o); !errors.Is(err, iface.ErrInvalidArgument) {
			if db != nil {
				_ = db.Close()
			}
			t.Errorf("Open with %+v: %v, want ErrInvalidArgument", o, err)
		}
	}
}

// TestLevelStatsAddUp checks the per-level counters against the tree they
// shaped: what a level holds is what was written or moved into it minus
// what compactions read or moved out of it, L0's compactions bring into the
// base level exactly what they read from L0, and the totals match the
// engine-wide counters.
func TestLevelStatsAddUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy iface.CompactionPolicy
	}{
		// A large BaseLevelSize keeps the base level at the last level:
		// every compaction goes from L0 into L6.
		{"base-only", leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 20})},
		{"multi-level", leveled.New(leveled.Options{L0Trigger: 2, BaseLevelSize: 64 << 10, LevelMultiplier: 4})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smallOptions(vfs.NewMem())
			o.CompactionPolicy = tc.policy
			o.DisableBackgroundWork = true
			o.ValueThreshold = 1 << 10 // values in the tables, so levels grow
			db := openTest(t, "db", o)
			for round := range 12 {
				for i := range 1500 {
					k := (i*7919 + round*104729) % 6000
					must(t, db.Set(key(k), throttleValue(k+round), nil))
				}
				must(t, db.Flush())
				must(t, db.Compact())
			}
			st := db.Stats()
			checkLevelStats(t, st)
			if tc.name == "base-only" {
				last := st.Levels[len(st.Levels)-1]
				if st.Levels[0].BytesRead == 0 || st.Levels[0].BytesRead != last.BytesIn {
					t.Errorf("L0 compactions read %d bytes, the base level took in %d", st.Levels[0].BytesRead, last.BytesIn)
				}
			} else {
				deep := 0
				for _, l := range st.Levels[1 : len(st.Levels)-1] {
					if l.BytesRead > 0 {
						deep++
					}
				}
				if deep == 0 {
					t.Errorf("no compaction below the base level; the test shape is too small: %+v", st.Levels)
				}
			}
			must(t, db.CompactAll())
			st = db.Stats()
			checkLevelStats(t, st)
			if st.ReadAmp != 1 {
				t.Errorf("read amplification after CompactAll = %d, want 1: %+v", st.ReadAmp, st.Levels)
			}
		})
	}
}

func checkLevelStats(t *testing.T, st backend.Stats) {
	t.Helper()
	var read, written, moved, movedOut int64
	readAmp := 0
	for _, l := range st.Levels {
		if got, want := l.Bytes+l.IngestBytes, l.BytesWritten+l.BytesMovedIn-l.BytesRead-l.BytesMovedOut; got != want {
			t.Errorf("L%d holds %d bytes; written %d + moved in %d - read %d - moved out %d = %d",
				l.Level, got, l.BytesWritten, l.BytesMovedIn, l.BytesRead, l.BytesMovedOut, want)
		}
		if l.BytesIn > 0 && l.WriteAmp != float64(l.BytesWritten)/float64(l.BytesIn) {
			t.Errorf("L%d write amplification %v, want %d/%d", l.Level, l.WriteAmp, l.BytesWritten, l.BytesIn)
		}
		want := l.IngestRuns
		if l.Level == 0 {
			want += l.Tables
		} else if l.Tables > 0 {
			want++
		}
		if l.ReadAmp != want {
			t.Errorf("L%d read amplification %d with %d tables", l.Level, l.ReadAmp, l.Tables)
		}
		readAmp += l.ReadAmp
		read += l.BytesRead
		moved += l.BytesMovedIn
		movedOut += l.BytesMovedOut
		if l.Level > 0 {
			written += l.BytesWritten
		}
	}
	if read != st.CompactionBytesIn || written != st.CompactionBytesOut || moved != movedOut {
		t.Errorf("levels read %d, wrote %d, moved %d in / %d out; engine: compactions in %d, out %d",
			read, written, moved, movedOut, st.CompactionBytesIn, st.CompactionBytesOut)
	}
	if st.Levels[0].BytesWritten != st.FlushBytes || st.Levels[0].WriteAmp != 1 {
		t.Errorf("L0 written %d (w-amp %v), flushed %d", st.Levels[0].BytesWritten, st.Levels[0].WriteAmp, st.FlushBytes)
	}
	if readAmp != st.ReadAmp {
		t.Errorf("read amplification %d, levels add up to %d", st.ReadAmp, readAmp)
	}
	if st.UserBytes == 0 || st.WriteAmp < 1 {
		t.Errorf("user bytes %d, write amplification %v", st.UserBytes, st.WriteAmp)
	}
	var in int64
	for _, l := range st.Levels[1:] {
		in += l.BytesIn
	}
	if in > read {
		t.Errorf("levels took in %d bytes from above, compactions read only %d", in, read)
	}
}

// A stop threshold below the policy's own L0 trigger must not stop writes
// for good: with no compaction running and none planned, writers go on.
func TestStopThresholdBelowPolicyTrigger(t *testing.T) {
	o := smallOptions(vfs.NewMem())
	o.CompactionPolicy = leveled.New(leveled.Options{L0Trigger: 8, BaseLevelSize: 64 << 10, LevelMultiplier: 4})
	o.L0StopWritesThreshold = 2
	o.L0SlowdownWritesThreshold = -1
	o.ValueThreshold = 1 << 20 // values stay in the memtables: many flushes
	db := openTest(t, "/db", o)
	done := make(chan error, 1)
	go func() {
		val := make([]byte, 200)
		for i := 0; i < 6000; i++ {
			if err := db.Set([]byte(fmt.Sprintf("k%06d", i)), val, nil); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("writes stopped for good: %+v", db.Stats().Debt)
	}
	if st := db.Stats(); st.StopsSkipped == 0 {
		t.Fatalf("no stop skipped; L0 never reached the stop threshold? levels %+v", st.Levels)
	}
}
