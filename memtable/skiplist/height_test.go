package skiplist

import (
	"math"
	"testing"
)

// Tower heights follow P(height > k) = e^-k.
func TestRandomHeightDistribution(t *testing.T) {
	const n = 1 << 20
	var above [maxHeight + 1]int
	for range n {
		h := randomHeight()
		if h < 1 || h > maxHeight {
			t.Fatalf("height %d outside 1..%d", h, maxHeight)
		}
		for k := 0; k < h; k++ {
			above[k]++
		}
	}
	for k := 1; k <= 4; k++ {
		got, want := float64(above[k])/n, math.Exp(-float64(k))
		if math.Abs(got-want) > 0.01 {
			t.Errorf("P(height > %d) = %.4f, want %.4f", k, got, want)
		}
	}
}
