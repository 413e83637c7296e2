package main

import "github.com/nokv/nokv/internal/histogram"

// fmtLatency renders ns nanoseconds with three significant digits and a unit.
func fmtLatency(ns int64) string { return histogram.FormatNanos(float64(ns)) }
