package backend_test

import (
	"testing"

	"github.com/nokv/nokv/registry"
)

// runRegression runs a shrunk log on every configuration TestMetamorphic
// uses and fails on the first that disagrees with the model.
func runRegression(t *testing.T, ops []metaOp) {
	t.Helper()
	for _, c := range metaConfigs(registry.Builtin()) {
		bad, desc, err := divergence(c, ops)
		if err != nil {
			t.Fatal(err)
		}
		if bad {
			t.Fatalf("%s:\n%s%s", c, formatLog(ops), desc)
		}
	}
}

// TestValueLogGCOfExpiredValueLeavesCheckClean was found by TestMetamorphic
// (seed 84, -metamorphic.seeds=100; shrunk from 500 operations to these 7):
// value-log GC drops expired values as garbage and removes their segment,
// but the table still holds the expired entry's pointer, and Check, which
// resolves the newest pointer of every key, reported the store as damaged
// ("value pointer ... does not resolve"). No reader follows the pointer of
// an expired value, so Check must not either.
func TestValueLogGCOfExpiredValueLeavesCheckClean(t *testing.T) {
	runRegression(t, []metaOp{
		{kind: mSet, key: "k027", val: metaVal{tag: 100, size: 3889}},
		{kind: mSet, key: "k001", val: metaVal{tag: 101, size: 1896}},
		{kind: mSetExpired, key: "k084", val: metaVal{tag: 106, size: 1133}},
		{kind: mBatch, sub: []metaOp{{kind: mSet, key: "k027", val: metaVal{tag: 137, size: 43}}}},
		{kind: mBatch, sub: []metaOp{{kind: mSet, key: "k052", val: metaVal{tag: 148, size: 1592}}}},
		{kind: mFlush},
		{kind: mGC, ratio: 0.5},
	})
}
