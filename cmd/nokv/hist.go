package main

import (
	"fmt"
	"math/bits"
)

// histogram records latencies in nanoseconds in log-linear buckets (in the
// manner of HDR histograms): values below 64 ns exactly, larger ones in 64
// buckets per power of two, so a reported percentile is within 1% of the
// true value while recording costs a few instructions and no allocation,
// however many operations run.
type histogram struct {
	counts [histBuckets]int64
	n      int64
	sum    int64
	max    int64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits // buckets per power of two
	// A 64-bit value shifts right by 0 to 64-(histSubBits+1) to keep
	// histSubBits+1 significant bits; shift s uses buckets (s+1)*histSub on.
	histBuckets = (64 - histSubBits + 1) * histSub
)

// histBucket returns the bucket of v: v itself below histSub; above, the
// top histSubBits+1 bits of v and the shift that keeps them.
func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histValue returns the middle of bucket i's range.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	low := int64(i%histSub+histSub) << shift
	return low + (int64(1)<<shift)/2
}

// record adds one latency of ns nanoseconds.
func (h *histogram) record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.counts[histBucket(uint64(ns))]++
	h.n++
	h.sum += ns
	if ns > h.max {
		h.max = ns
	}
}

// reset empties h for the next workload.
func (h *histogram) reset() { *h = histogram{} }

// quantile returns the latency below which a fraction q of the recorded
// values fall (0 when nothing was recorded).
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = max(1, min(rank, h.n))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histValue(i), h.max)
		}
	}
	return h.max
}

// fmtLatency renders ns nanoseconds with three significant digits and a unit.
func fmtLatency(ns int64) string {
	x := float64(ns)
	switch {
	case ns < 1_000:
		return fmt.Sprintf("%dns", ns)
	case ns < 1_000_000:
		return sig3(x/1e3) + "µs"
	case ns < 1_000_000_000:
		return sig3(x/1e6) + "ms"
	default:
		return sig3(x/1e9) + "s"
	}
}

func sig3(x float64) string {
	switch {
	case x < 10:
		return fmt.Sprintf("%.2f", x)
	case x < 100:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.0f", x)
	}
}
