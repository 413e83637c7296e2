package memtabletest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
)

// RunDifferential applies the same random operations, drawn from seed, to a
// memtable made by a and one made by b, and fails at the first operation
// whose observable result differs: adds, Gets at random read versions,
// seeks followed by random Next/Prev walks, full scans in both directions,
// and Len. Replacements of existing internal keys and user keys that are
// prefixes of one another are frequent.
func RunDifferential(t *testing.T, a, b iface.NewMemtable, seed int64) {
	t.Helper()
	ma := a(iface.MemtableOptions{Capacity: suiteCapacity})
	mb := b(iface.MemtableOptions{Capacity: suiteCapacity})
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	g := keyGen{rng: rng, maxLen: 4}
	const ops, maxVersion = 3000, 30

	// Each operation is a closure run against both memtables; it returns a
	// transcript of everything it observed.
	for i := range ops {
		var desc string
		var op func(m iface.Memtable) string
		switch r := rng.IntN(100); {
		case r < 55:
			k, v := iface.MakeKey(nil, g.userKey(), g.version(maxVersion)), g.value()
			desc = "Add " + fmtKey(k)
			op = func(m iface.Memtable) string { return fmt.Sprint(m.Add(k, v)) }
		case r < 75:
			k := iface.MakeKey(nil, g.userKey(), g.lookupVersion(maxVersion))
			desc = "Get " + fmtKey(k)
			op = func(m iface.Memtable) string {
				gk, gv, ok := m.Get(k)
				return fmt.Sprintf("%q %q %v", gk, gv, ok)
			}
		case r < 95:
			k := iface.MakeKey(nil, g.userKey(), g.lookupVersion(maxVersion))
			ge := rng.IntN(2) == 0
			steps := make([]bool, rng.IntN(12)) // true = Next
			for j := range steps {
				steps[j] = rng.IntN(3) > 0
			}
			desc = fmt.Sprintf("walk from %s (ge=%v) %v", fmtKey(k), ge, steps)
			op = func(m iface.Memtable) string {
				it := m.NewIterator()
				defer it.Close()
				var sb strings.Builder
				var ok bool
				if ge {
					ok = it.SeekGE(k)
				} else {
					ok = it.SeekLT(k)
				}
				for j := 0; ; j++ {
					fmt.Fprintf(&sb, "%v:%v", ok, it.Valid())
					if !ok {
						break
					}
					fmt.Fprintf(&sb, " %q=%q; ", it.Key(), it.Value())
					if j == len(steps) {
						break
					}
					if steps[j] {
						ok = it.Next()
					} else {
						ok = it.Prev()
					}
				}
				return sb.String()
			}
		case r < 98:
			desc = "Len"
			exact := !inexactLen(ma) && !inexactLen(mb)
			op = func(m iface.Memtable) string {
				if !exact {
					return fmt.Sprint(m.Len() > 0)
				}
				return fmt.Sprint(m.Len())
			}
		default:
			forward := rng.IntN(2) == 0
			desc = fmt.Sprintf("full scan (forward=%v)", forward)
			op = func(m iface.Memtable) string {
				it := m.NewIterator()
				defer it.Close()
				var sb strings.Builder
				ok, step := it.Last(), it.Prev
				if forward {
					ok, step = it.First(), it.Next
				}
				for ; ok; ok = step() {
					fmt.Fprintf(&sb, "%q=%q ", it.Key(), it.Value())
				}
				return sb.String()
			}
		}
		if ra, rb := op(ma), op(mb); ra != rb {
			t.Fatalf("seed %d, op %d (%s): results differ\n a: %s\n b: %s", seed, i, desc, ra, rb)
		}
	}
}

// inexactLen reports whether m says its Len may count a replaced internal
// key more than once (a segmented memtable), so that only emptiness can be
// compared.
func inexactLen(m iface.Memtable) bool {
	x, ok := m.(interface{ LenCountsReplacements() bool })
	return ok && x.LenCountsReplacements()
}
