package main

import (
	"fmt"
	"math/bits"
)

// hist counts latencies (nanoseconds) in log-linear buckets: exact below
// 32 ns, then 32 buckets per power of two, so a percentile read from it is
// within about 3% of the true value. Recording is a few instructions and
// allocates nothing. One hist per goroutine; merge them at the end.
type hist struct {
	counts [(64 - histBits) * histSub]int64
	n      int64
	max    int64
}

const (
	histBits = 5
	histSub  = 1 << histBits
)

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histBits - 1
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histMid returns the middle of bucket i.
func histMid(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	lo := int64(i%histSub+histSub) << shift
	return lo + (int64(1)<<shift)/2
}

// add records one latency.
func (h *hist) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	h.counts[histIndex(uint64(ns))]++
	h.n++
	h.max = max(h.max, ns)
}

// merge adds o's counts to h.
func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency at or below which a fraction q of the
// recorded values fall; 0 when nothing was recorded.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := max(1, min(h.n, int64(q*float64(h.n)+0.5)))
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(histMid(i), h.max)
		}
	}
	return h.max
}

// fmtDuration renders ns with three significant digits and a unit.
func fmtDuration(ns float64) string {
	switch {
	case ns <= 0:
		return "-"
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return sig3(ns/1e3) + "µs"
	case ns < 1e9:
		return sig3(ns/1e6) + "ms"
	default:
		return sig3(ns/1e9) + "s"
	}
}

// sig3 renders x (positive) with three significant digits.
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
