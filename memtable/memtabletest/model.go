package memtabletest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/nokv/nokv/iface"
)

// model is the reference memtable: a map plus a sorted key list rebuilt on
// demand. It is slow and obviously right.
type model struct {
	vals   map[string]string
	sorted []string // internal keys in iface.Compare order; nil when stale
}

func newModel() *model { return &model{vals: map[string]string{}} }

func (m *model) add(ikey, value []byte) {
	if _, ok := m.vals[string(ikey)]; !ok {
		m.sorted = nil
	}
	m.vals[string(ikey)] = string(value)
}

func (m *model) keys() []string {
	if m.sorted == nil {
		m.sorted = make([]string, 0, len(m.vals))
		for k := range m.vals {
			m.sorted = append(m.sorted, k)
		}
		slices.SortFunc(m.sorted, func(a, b string) int { return iface.Compare([]byte(a), []byte(b)) })
	}
	return m.sorted
}

// seekGE returns the index of the first key >= ikey (len when none).
func (m *model) seekGE(ikey []byte) int {
	ks := m.keys()
	return sort.Search(len(ks), func(i int) bool { return iface.Compare([]byte(ks[i]), ikey) >= 0 })
}

// seekLT returns the index of the last key < ikey (-1 when none).
func (m *model) seekLT(ikey []byte) int { return m.seekGE(ikey) - 1 }

func (m *model) get(ikey []byte) (key, value string, ok bool) {
	i := m.seekGE(ikey)
	ks := m.keys()
	if i == len(ks) || !iface.SameUserKey([]byte(ks[i]), ikey) {
		return "", "", false
	}
	return ks[i], m.vals[ks[i]], true
}

// keyGen draws user keys from a tiny alphabet so that equal keys, shared
// prefixes and keys that are prefixes of others (including "" and "\x00")
// are all common.
type keyGen struct {
	rng    *rand.Rand
	maxLen int
}

var alphabet = []byte{0x00, 'a', 'b', 0xff}

func (g keyGen) userKey() []byte {
	n := g.rng.IntN(g.maxLen + 1)
	k := make([]byte, n)
	for i := range k {
		k[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return k
}

// version draws a stored version (1..maxVersion).
func (g keyGen) version(maxVersion int) uint64 { return uint64(1 + g.rng.IntN(maxVersion)) }

// lookupVersion draws a read version, including the edge cases 0 and
// iface.MaxVersion.
func (g keyGen) lookupVersion(maxVersion int) uint64 {
	switch g.rng.IntN(8) {
	case 0:
		return 0
	case 1:
		return iface.MaxVersion
	}
	return uint64(g.rng.IntN(maxVersion + 2))
}

func (g keyGen) value() []byte {
	v := make([]byte, g.rng.IntN(24))
	for i := range v {
		v[i] = byte('a' + g.rng.IntN(26))
	}
	return v
}

// fmtKey renders an internal key for failure messages.
func fmtKey(ikey []byte) string {
	if len(ikey) < iface.TrailerLen {
		return fmt.Sprintf("%q(short)", ikey)
	}
	return fmt.Sprintf("%q@%d", iface.UserKey(ikey), iface.Version(ikey))
}
