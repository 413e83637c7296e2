package iface

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestCompareMatchesTupleOrder checks Compare against the order it promises:
// user key ascending (bytewise), then version descending; including user
// keys that are prefixes of one another.
func TestCompareMatchesTupleOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	userKeys := [][]byte{{}, {0}, {0xff}, []byte("a"), []byte("a\x00"), []byte("a\xff"), []byte("aa"), []byte("ab")}
	versions := []uint64{0, 1, 2, 255, 256, 1 << 40, MaxVersion}
	for i := 0; i < 5000; i++ {
		ua, ub := userKeys[rng.IntN(len(userKeys))], userKeys[rng.IntN(len(userKeys))]
		va, vb := versions[rng.IntN(len(versions))], versions[rng.IntN(len(versions))]
		want := bytes.Compare(ua, ub)
		if want == 0 {
			switch {
			case va > vb:
				want = -1
			case va < vb:
				want = 1
			}
		}
		a, b := MakeKey(nil, ua, va), MakeKey(nil, ub, vb)
		if got := Compare(a, b); got != want {
			t.Fatalf("Compare(%q@%d, %q@%d) = %d, want %d", ua, va, ub, vb, got, want)
		}
		if !bytes.Equal(UserKey(a), ua) || Version(a) != va {
			t.Fatalf("round trip of %q@%d gave %q@%d", ua, va, UserKey(a), Version(a))
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		exp  uint64
		pay  string
	}{{KindSet, 0, "v"}, {KindSet, 1700000000, "v"}, {KindDelete, 0, ""}, {KindPointer, 0, "ptr"}} {
		enc := EncodeValue(nil, c.kind, c.exp, []byte(c.pay))
		k, exp, p, err := DecodeValue(enc)
		if err != nil || k != c.kind || exp != c.exp || string(p) != c.pay {
			t.Fatalf("%v: decoded %v %d %q %v", c, k, exp, p, err)
		}
	}
	for _, bad := range [][]byte{nil, {0x81}, {0x81, 1, 2}, {7}} {
		if _, _, _, err := DecodeValue(bad); !errors.Is(err, ErrCorruption) {
			t.Fatalf("DecodeValue(%x) = %v, want corruption", bad, err)
		}
	}
	p := ValuePtr{Segment: 3, Offset: 1 << 20, Len: 4096}
	if q, err := DecodeValuePtr(p.Encode(nil)); err != nil || q != p {
		t.Fatalf("value pointer round trip: %v %v", q, err)
	}
	if _, err := DecodeValuePtr([]byte{1, 2}); !errors.Is(err, ErrCorruption) {
		t.Fatal("short value pointer accepted")
	}
}

func TestCorruptionError(t *testing.T) {
	err := Corruptf("/db/000001.sst", 4096, "block checksum %08x", 7)
	if !errors.Is(err, ErrCorruption) {
		t.Fatal("CorruptionError does not match ErrCorruption")
	}
	if got := err.Error(); got != "nokv: corruption in /db/000001.sst at offset 4096: block checksum 00000007" {
		t.Fatalf("message %q", got)
	}
}
