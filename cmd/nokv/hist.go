package main

import "fmt"

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
