package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The db_bench-style workloads. Every random choice comes from a generator
// seeded by (seed, chain, workload, goroutine), so every engine gets the
// same keys and values in the same order.

// rngFor returns the seeded generator of one stream.
func (r *chainRun) rngFor(stream string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(r.chain.name + "/" + stream))
	return rand.New(rand.NewPCG(r.spec.Seed, h.Sum64()))
}

// valuesFor returns the seeded value source of one stream.
func (r *chainRun) valuesFor(stream string) *valueSource {
	return newValueSource(r.spec.Seed, r.chain.name+"/"+stream)
}

func runFillSeq(r *chainRun) error {
	if err := r.openStore(); err != nil {
		return err
	}
	return r.write("fillseq", r.size.Keys, r.size.SmallValue, 1, false, func(int) func(int64) uint64 {
		return func(i int64) uint64 { return uint64(i) }
	})
}

// fillRandomWriters is the number of concurrent writers of fillrandom-4.
const fillRandomWriters = 4

// fillRandomChain writes keys distinct keys in random order.
func (r *chainRun) fillRandomChain(name string, keys int64, valueSize int) error {
	if err := r.openStore(); err != nil {
		return err
	}
	return r.fillRandom(name, keys, valueSize, 1)
}

// fillRandom writes keys distinct keys in the seeded random order (it
// depends on keys and the seed only, so fillrandom and fillrandom-4 write
// the same keys), unsynced, split over writers goroutines: writer g takes
// its contiguous share of the order (see write).
func (r *chainRun) fillRandom(name string, keys int64, valueSize, writers int) error {
	p := newShuffle(uint64(keys), r.spec.Seed)
	return r.write(name, keys, valueSize, writers, false, func(int) func(int64) uint64 {
		return func(i int64) uint64 { return p.at(uint64(i)) }
	})
}

// fillSyncChain writes n distinct random keys with synced commits, split
// over writers goroutines.
func (r *chainRun) fillSyncChain(name string, n int64, writers int) error {
	if err := r.openStore(); err != nil {
		return err
	}
	p := newShuffle(uint64(n), r.spec.Seed)
	return r.write(name, n, r.size.SmallValue, writers, true, func(int) func(int64) uint64 {
		return func(i int64) uint64 { return p.at(uint64(i)) }
	})
}

func runFillRandom(r *chainRun) error {
	s := r.size
	if err := r.openStore(); err != nil {
		return err
	}
	if err := r.fillRandom("fillrandom", s.Keys, s.SmallValue, 1); err != nil {
		return err
	}
	if err := r.readRandom("readrandom", s.Reads, s.Keys); err != nil {
		return err
	}
	if err := r.scanAll("scan", s.Keys); err != nil {
		return err
	}
	if err := r.closeStore(); err != nil {
		return err
	}
	if err := r.openStore(); err != nil {
		return err
	}
	if err := r.readRandom("readrandom-reopen", s.Reads, s.Keys); err != nil {
		return err
	}
	return r.readWhileWriting("readwhilewriting", s.RWWReads, s.Keys, s.SmallValue)
}

// write runs a write workload of n single-entry batches: writer g of
// writers writes i in [g*n/writers, (g+1)*n/writers), key keyAt(g)(i).
// Each write is a new key, so the live data grows by n entries. Latency is
// that of set plus commit.
func (r *chainRun) write(name string, n int64, valueSize, writers int, synced bool, keyAt func(g int) func(int64) uint64) error {
	row := r.begin(name, true)
	r.prog.Begin(name, n)
	hists := make([]hist, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := r.st.newWriter()
			vals := r.valuesFor(fmt.Sprintf("%s/%d", name, g))
			at := keyAt(g)
			key := make([]byte, dbKeySize)
			val := make([]byte, valueSize)
			h := &hists[g]
			for i := int64(g) * n / int64(writers); i < int64(g+1)*n/int64(writers); i++ {
				putDecimal(key, at(i))
				vals.fill(val)
				t0 := time.Now()
				err := wr.set(key, val)
				if err == nil {
					err = wr.commit(synced)
				}
				h.Record(int64(time.Since(t0)))
				if err != nil {
					errs[g] = fmt.Errorf("%s: write %d: %w", name, i, err)
					return
				}
				r.prog.Done.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r.prog.End()
	for i := 1; i < writers; i++ {
		hists[0].Merge(&hists[i])
	}
	w := &r.res.Workloads[row]
	w.Ops = hists[0].Count()
	w.Bytes = w.Ops * int64(dbKeySize+valueSize)
	w.UserWrite = w.Bytes
	r.live += w.Bytes
	r.end(row, &hists[0], elapsed)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// readRandom reads n keys drawn uniformly from [0, keyspace), all of which
// must be present.
func (r *chainRun) readRandom(name string, n, keyspace int64) error {
	row := r.begin(name, false)
	rng := r.rngFor(name)
	key := make([]byte, dbKeySize)
	var val []byte
	var h hist
	var bytes, misses int64
	r.prog.Begin(name, n)
	start := time.Now()
	for i := int64(0); i < n; i++ {
		putDecimal(key, rng.Uint64N(uint64(keyspace)))
		t0 := time.Now()
		v, found, err := r.st.get(key, val)
		h.Record(int64(time.Since(t0)))
		if err != nil {
			r.prog.End()
			return fmt.Errorf("%s: get %s: %w", name, key, err)
		}
		val = v
		if !found {
			misses++
		} else {
			bytes += int64(len(key) + len(v))
		}
		if i&127 == 0 {
			r.prog.Done.Store(i)
		}
	}
	elapsed := time.Since(start)
	r.prog.End()
	w := &r.res.Workloads[row]
	w.Ops, w.Bytes = n, bytes
	r.end(row, &h, elapsed)
	if misses > 0 {
		return fmt.Errorf("%s: %d of %d keys written before were not found: the store lost data", name, misses, n)
	}
	return nil
}

// scanAll iterates over the whole store, which must hold exactly expect
// entries; one entry is one op.
func (r *chainRun) scanAll(name string, expect int64) error {
	row := r.begin(name, false)
	r.prog.Begin(name, expect)
	var bytes int64
	var count atomic.Int64
	start := time.Now()
	n, err := r.st.scan(nil, 0, func(k, v []byte) {
		bytes += int64(len(k) + len(v))
		if c := count.Add(1); c&1023 == 0 {
			r.prog.Done.Store(c)
		}
	})
	elapsed := time.Since(start)
	r.prog.End()
	w := &r.res.Workloads[row]
	w.Ops, w.Bytes = int64(n), bytes
	r.end(row, nil, elapsed)
	if err != nil {
		return fmt.Errorf("%s: after %d entries: %w", name, n, err)
	}
	if int64(n) != expect {
		return fmt.Errorf("%s: found %d entries, want %d", name, n, expect)
	}
	return nil
}

// rwwWriteRate caps the writer of readwhilewriting (writes per second).
// Unthrottled, the writer of a fast-writing engine takes most of a 2-core
// machine and the row measures the scheduler more than the reads; capped,
// every engine serves its reads under the same steady write load (as
// db_bench's --benchmark_write_rate_limit does). An engine that cannot keep
// up writes less; the notes give the rate reached.
const rwwWriteRate = 20_000

// readWhileWriting reads n random keys from one goroutine while another
// overwrites random keys at up to rwwWriteRate, until the reads are done.
// The row reports the reads; its notes give the writer's count and rate,
// and its write amplification is over the writer's bytes.
func (r *chainRun) readWhileWriting(name string, n, keyspace int64, valueSize int) error {
	row := r.begin(name, true)
	var stop atomic.Bool
	var writes int64
	var werr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wr := r.st.newWriter()
		rng := r.rngFor(name + "/writer")
		vals := r.valuesFor(name + "/writer")
		key := make([]byte, dbKeySize)
		val := make([]byte, valueSize)
		begun := time.Now()
		for !stop.Load() {
			if writes%32 == 0 {
				due := begun.Add(time.Duration(writes) * time.Second / rwwWriteRate)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			putDecimal(key, rng.Uint64N(uint64(keyspace)))
			vals.fill(val)
			err := wr.set(key, val)
			if err == nil {
				err = wr.commit(false)
			}
			if err != nil {
				werr = fmt.Errorf("%s: write: %w", name, err)
				return
			}
			writes++
		}
	}()
	// The reads are readRandom's, minus its row bookkeeping.
	rng := r.rngFor(name)
	key := make([]byte, dbKeySize)
	var val []byte
	var h hist
	var bytes, misses int64
	var rerr error
	r.prog.Begin(name, n)
	start := time.Now()
	for i := int64(0); i < n; i++ {
		putDecimal(key, rng.Uint64N(uint64(keyspace)))
		t0 := time.Now()
		v, found, err := r.st.get(key, val)
		h.Record(int64(time.Since(t0)))
		if err != nil {
			rerr = fmt.Errorf("%s: get %s: %w", name, key, err)
			break
		}
		val = v
		if found {
			bytes += int64(len(key) + len(v))
		} else {
			misses++
		}
		if i&127 == 0 {
			r.prog.Done.Store(i)
		}
	}
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	r.prog.End()
	w := &r.res.Workloads[row]
	w.Ops, w.Bytes = h.Count(), bytes
	w.UserWrite = writes * int64(dbKeySize+valueSize)
	w.Notes = fmt.Sprintf("writes=%d (%.0f/s)", writes, float64(writes)/elapsed.Seconds())
	r.end(row, &h, elapsed)
	switch {
	case rerr != nil:
		return rerr
	case werr != nil:
		return werr
	case misses > 0:
		return fmt.Errorf("%s: %d of %d keys written before were not found: the store lost data", name, misses, n)
	}
	return nil
}
