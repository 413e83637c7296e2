package main

import "github.com/nokv/nokv/internal/histogram"

// hist is the latency histogram the harness shares with `nokv bench`.
type hist = histogram.Histogram

// fmtDuration renders ns with three significant digits and a unit, "-"
// for nothing measured.
func fmtDuration(ns float64) string {
	if ns <= 0 {
		return "-"
	}
	return histogram.FormatNanos(ns)
}

// sig3 renders x (positive) with three significant digits.
func sig3(x float64) string { return histogram.Sig3(x) }
