package vlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/vfs"
)

// TestConcurrentReadWriteGC runs one writer (small segments, so it rotates
// often, with syncs), readers of random live values, and a collector that
// removes old segments the way the engine will: it first makes the values
// unreachable (drops them from the shared index), then calls RemoveSegment.
// Readers pin before they look a pointer up, so they must never see an
// error or a wrong value. It runs on the OS file system (real concurrent
// pread and write) and on MemFS.
func TestConcurrentReadWriteGC(t *testing.T) {
	for _, name := range []string{"os", "mem"} {
		t.Run(name, func(t *testing.T) {
			o := testOptions(vfs.NewMem())
			if name == "os" {
				o = Options{FS: vfs.Default, Dir: t.TempDir() + "/vlog", Threshold: 32, SegmentSize: 4096}
			}
			runConcurrent(t, openChecked(t, o))
		})
	}
}

func runConcurrent(t *testing.T, s *Store) {
	var (
		mu      sync.Mutex
		live    []kv   // values a reader may look up
		horizon uint32 // segments below it hold only values in live (the engine's GC horizon)
		done    = make(chan struct{})
		errs    = make(chan error, 16)
		wg      sync.WaitGroup
		reads   sync.WaitGroup
	)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	dur := 400 * time.Millisecond
	if testing.Short() {
		dur = 150 * time.Millisecond
	}

	// Readers.
	for r := range 3 {
		reads.Add(1)
		go func(seed uint64) {
			defer reads.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			var dst []byte
			for {
				select {
				case <-done:
					return
				default:
				}
				release := s.Pin()
				mu.Lock()
				if len(live) == 0 {
					mu.Unlock()
					release()
					continue
				}
				// Prefer old values, the ones GC is about to remove, and
				// sometimes dawdle between the lookup and the read, as an
				// iterator does between finding a pointer and reading it.
				k := live[rng.IntN(min(len(live), 8))]
				mu.Unlock()
				if rng.IntN(4) == 0 {
					time.Sleep(20 * time.Microsecond)
				}
				var err error
				dst, err = s.Read(k.ptr, dst[:0])
				release()
				if err != nil {
					report(fmt.Errorf("Read(%+v): %w", k.ptr, err))
					return
				}
				if !bytes.Equal(dst, k.value) {
					report(fmt.Errorf("Read(%+v): wrong value", k.ptr))
					return
				}
			}
		}(uint64(r))
	}

	// Collector: removes the oldest sealed segment below the horizon
	// whenever there are more than four, after dropping its values from the
	// index. (Without the horizon it could remove a segment a batch in
	// flight has just written to, before the writer indexed the values: the
	// reason the engine's GC respects the head recorded at its last flush.)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			segs := s.Segments()
			mu.Lock()
			below := horizon
			mu.Unlock()
			var victim uint32
			for _, si := range segs {
				if !si.Active && !si.Removing && len(segs) > 4 && si.Number < below {
					victim = si.Number
					break
				}
			}
			if victim == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			// Iterate it first, as GC does, then make it unreachable.
			n := 0
			if err := s.IterateSegment(victim, func([]byte, uint64, uint64, iface.ValuePtr, []byte) error { n++; return nil }); err != nil {
				report(fmt.Errorf("IterateSegment(%d): %w", victim, err))
				return
			}
			mu.Lock()
			keep := live[:0]
			for _, k := range live {
				if k.ptr.Segment != victim {
					keep = append(keep, k)
				}
			}
			live = keep
			mu.Unlock()
			if err := s.RemoveSegment(victim); err != nil {
				report(fmt.Errorf("RemoveSegment(%d): %w", victim, err))
				return
			}
		}
	}()

	// The writer (the test goroutine).
	rng := rand.New(rand.NewPCG(99, 1))
	// Run for dur, and on a slow machine (fsyncs of a loaded disk) on until
	// GC has removed a few segments, within a bound.
	start := time.Now()
	v := uint64(0)
	for time.Since(start) < dur || (s.Stats().SegmentsRemoved < 3 && time.Since(start) < 10*dur) {
		v++
		sizes := make([]int, 1+rng.IntN(3))
		for i := range sizes {
			sizes[i] = rng.IntN(600)
		}
		kvs := writeKVs(t, s, rng, v, sizes...)
		if v%7 == 0 {
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		if v%11 == 0 {
			s.AddDiscard(map[uint32]int64{s.Head().Segment - 1: 50})
		}
		mu.Lock()
		for _, k := range kvs {
			if !k.inline {
				live = append(live, k)
			}
		}
		horizon = s.Head().Segment
		mu.Unlock()
	}
	close(done)
	wg.Wait()
	reads.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.SegmentsRemoved == 0 || st.Reads == 0 {
		t.Fatalf("the test did not exercise GC and reads: %+v", st)
	}
	checkKVs(t, s, live)
}
