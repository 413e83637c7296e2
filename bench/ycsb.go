package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// zipfian draws integers in [0, n) with P(i) proportional to 1/(i+1)^theta,
// by the constant-time method of Gray et al., "Quickly Generating
// Billion-Record Synthetic Databases" (SIGMOD 1994), which YCSB uses too.
// Item 0 is the most popular.
type zipfian struct {
	n                        float64
	theta, alpha, zetan, eta float64
	halfPowTheta             float64
}

// ycsbTheta is YCSB's default zipfian constant.
const ycsbTheta = 0.99

func newZipfian(n uint64, theta float64) *zipfian {
	zeta := func(n uint64) float64 {
		s := 0.0
		for i := uint64(1); i <= n; i++ {
			s += 1 / math.Pow(float64(i), theta)
		}
		return s
	}
	z := &zipfian{n: float64(n), theta: theta, alpha: 1 / (1 - theta), zetan: zeta(n)}
	z.eta = (1 - math.Pow(2/z.n, 1-theta)) / (1 - zeta(2)/z.zetan)
	z.halfPowTheta = 1 + math.Pow(0.5, theta)
	return z
}

func (z *zipfian) next(rng *rand.Rand) uint64 {
	u := rng.Float64()
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < z.halfPowTheta:
		return 1
	}
	v := uint64(z.n * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(v, uint64(z.n)-1)
}

// ycsbMix is one YCSB core workload: the share of each operation (summing
// to 1) and the key distribution.
type ycsbMix struct {
	name                            string
	read, update, insert, scan, rmw float64
	latest                          bool // D: skewed to the newest records
}

var ycsbMixes = map[string]ycsbMix{
	"ycsb-a": {name: "ycsb-a", read: 0.5, update: 0.5},
	"ycsb-b": {name: "ycsb-b", read: 0.95, update: 0.05},
	"ycsb-c": {name: "ycsb-c", read: 1},
	"ycsb-d": {name: "ycsb-d", read: 0.95, insert: 0.05, latest: true},
	"ycsb-e": {name: "ycsb-e", scan: 0.95, insert: 0.05},
	"ycsb-f": {name: "ycsb-f", read: 0.5, rmw: 0.5},
}

func runYCSB(r *chainRun) error {
	s := r.size
	if err := r.openStore(); err != nil {
		return err
	}
	if err := r.ycsbLoad(); err != nil {
		return err
	}
	// YCSB loads and runs in separate invocations; closing and reopening
	// here charges the load with what its close writes and starts the
	// runs with cold engine caches, as a separate run would.
	if err := r.closeStore(); err != nil {
		return err
	}
	if err := r.openStore(); err != nil {
		return err
	}
	y := &ycsbState{count: uint64(s.Records), zipf: newZipfian(uint64(s.Records), ycsbTheta)}
	for _, name := range []string{"ycsb-a", "ycsb-b", "ycsb-c", "ycsb-f", "ycsb-d", "ycsb-e"} {
		ops := s.YCSBOps
		if name == "ycsb-e" {
			ops = s.YCSBEOps
		}
		if err := r.ycsbRun(y, ycsbMixes[name], ops); err != nil {
			return err
		}
	}
	return nil
}

// ycsbLoad inserts records 0 to Records-1 (keys in hashed order).
func (r *chainRun) ycsbLoad() error {
	s := r.size
	return r.writeYCSB("ycsb-load", s.Records, s.YCSBValue)
}

func (r *chainRun) writeYCSB(name string, n int64, valueSize int) error {
	row := r.begin(name, true)
	r.prog.Begin(name, n)
	wr := r.st.newWriter()
	vals := r.valuesFor(name)
	key := make([]byte, ycsbKeySize)
	val := make([]byte, valueSize)
	var h hist
	start := time.Now()
	for i := int64(0); i < n; i++ {
		putYCSBKey(key, uint64(i))
		vals.fill(val)
		t0 := time.Now()
		err := wr.set(key, val)
		if err == nil {
			err = wr.commit(false)
		}
		h.Record(int64(time.Since(t0)))
		if err != nil {
			r.prog.End()
			return fmt.Errorf("%s: insert %d: %w", name, i, err)
		}
		if i&127 == 0 {
			r.prog.Done.Store(i)
		}
	}
	elapsed := time.Since(start)
	r.prog.End()
	w := &r.res.Workloads[row]
	w.Ops = n
	w.Bytes = n * int64(ycsbKeySize+valueSize)
	w.UserWrite = w.Bytes
	r.live += w.Bytes
	r.end(row, &h, elapsed)
	return nil
}

// ycsbState is what the YCSB runs share: the record count (inserts grow
// it) and the zipfian generator over the loaded records.
type ycsbState struct {
	count uint64
	zipf  *zipfian
}

// pick returns the record an operation addresses: scrambled zipfian over
// the loaded records (popular records spread over the key space, as YCSB's
// ScrambledZipfianGenerator does), or for latest the newest records first.
func (y *ycsbState) pick(rng *rand.Rand, latest bool) uint64 {
	z := y.zipf.next(rng)
	if latest {
		return y.count - 1 - min(z, y.count-1)
	}
	return mix64(z^0x9e3779b97f4a7c15) % uint64(y.zipf.n)
}

// ycsbRun runs ops operations of mix m from one client.
func (r *chainRun) ycsbRun(y *ycsbState, m ycsbMix, ops int64) error {
	s := r.size
	writes := m.update+m.insert+m.rmw > 0
	row := r.begin(m.name, writes)
	rng := r.rngFor(m.name)
	vals := r.valuesFor(m.name)
	wr := r.st.newWriter()
	key := make([]byte, ycsbKeySize)
	val := make([]byte, s.YCSBValue)
	var buf []byte
	var h hist
	var reads, updates, inserts, scans, rmws, scanned, missing int64
	var bytes, userWrite int64
	put := func() error {
		vals.fill(val)
		if err := wr.set(key, val); err != nil {
			return err
		}
		userWrite += int64(len(key) + len(val))
		return wr.commit(false)
	}
	get := func() error {
		v, found, err := r.st.get(key, buf)
		buf = v
		if found {
			bytes += int64(len(key) + len(v))
		} else if err == nil {
			missing++
		}
		return err
	}
	r.prog.Begin(m.name, ops)
	start := time.Now()
	for i := int64(0); i < ops; i++ {
		op := rng.Float64()
		var err error
		t0 := time.Now()
		switch {
		case op < m.read:
			reads++
			putYCSBKey(key, y.pick(rng, m.latest))
			err = get()
		case op < m.read+m.update:
			updates++
			putYCSBKey(key, y.pick(rng, m.latest))
			err = put()
		case op < m.read+m.update+m.insert:
			inserts++
			putYCSBKey(key, y.count)
			if err = put(); err == nil {
				y.count++
				r.live += int64(len(key) + len(val))
			}
		case op < m.read+m.update+m.insert+m.scan:
			scans++
			putYCSBKey(key, y.pick(rng, m.latest))
			limit := 1 + rng.IntN(s.MaxScanLen)
			var n int
			n, err = r.st.scan(key, limit, func(k, v []byte) { bytes += int64(len(k) + len(v)) })
			scanned += int64(n)
		default:
			rmws++
			putYCSBKey(key, y.pick(rng, m.latest))
			if err = get(); err == nil {
				err = put()
			}
		}
		h.Record(int64(time.Since(t0)))
		if err != nil {
			r.prog.End()
			return fmt.Errorf("%s: op %d: %w", m.name, i, err)
		}
		if i&127 == 0 {
			r.prog.Done.Store(i)
		}
	}
	elapsed := time.Since(start)
	r.prog.End()
	w := &r.res.Workloads[row]
	w.Ops, w.Bytes, w.UserWrite = ops, bytes+userWrite, userWrite
	var notes []string
	for _, c := range []struct {
		n    int64
		name string
	}{{reads, "reads"}, {updates, "updates"}, {inserts, "inserts"}, {scans, "scans"}, {rmws, "rmw"}} {
		if c.n > 0 {
			notes = append(notes, fmt.Sprintf("%s=%d", c.name, c.n))
		}
	}
	if scans > 0 {
		notes = append(notes, fmt.Sprintf("entries=%d", scanned))
	}
	w.Notes = strings.Join(notes, " ")
	r.end(row, &h, elapsed)
	if missing > 0 {
		return fmt.Errorf("%s: %d reads missed records that were written: the store lost data", m.name, missing)
	}
	return nil
}
