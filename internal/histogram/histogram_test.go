package histogram

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogram(t *testing.T) {
	t.Parallel()
	var h Histogram
	if h.Quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	// Buckets are ordered and every value lands in a bucket whose middle is
	// within 1% of it.
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 40, math.MaxInt64, math.MaxUint64} {
		b := bucket(v)
		if b < prev || b >= buckets {
			t.Fatalf("bucket(%d) = %d (previous %d, limit %d)", v, b, prev, buckets)
		}
		prev = b
		if v <= math.MaxInt64 {
			if mid := float64(value(b)); math.Abs(mid-float64(v)) > 0.01*float64(v)+0.5 {
				t.Errorf("value %d: bucket middle %v is more than 1%% off", v, mid)
			}
		}
	}
	// Percentiles match a sorted sample within 1%.
	rng := rand.New(rand.NewPCG(1, 2))
	sample := make([]int64, 100000)
	for i := range sample {
		v := int64(rng.ExpFloat64() * 5000)
		sample[i] = v
		h.Record(v)
	}
	slices.Sort(sample)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(sample[int(q*float64(len(sample)))-1])
		if got := float64(h.Quantile(q)); math.Abs(got-want) > 0.01*want+1 {
			t.Errorf("q%v: got %v, want %v", q, got, want)
		}
	}
	if h.Quantile(1) != sample[len(sample)-1] {
		t.Errorf("q1 = %d, want the max %d", h.Quantile(1), sample[len(sample)-1])
	}
}
