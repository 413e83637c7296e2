package main

import (
	"fmt"

	"github.com/nokv/nokv/internal/histogram"
)

// hist is the latency histogram the harness shares with `nokv bench`.
type hist = histogram.Histogram

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
