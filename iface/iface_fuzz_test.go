package iface

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeValue feeds arbitrary stored values and value pointers to their
// decoders: they must fail with ErrCorruption or decode to something that
// encodes back and decodes to the same parts.
func FuzzDecodeValue(f *testing.F) {
	f.Add(EncodeValue(nil, KindSet, 0, []byte("v")))
	f.Add(EncodeValue(nil, KindSet, 1<<40, []byte("expiring")))
	f.Add(EncodeValue(nil, KindDelete, 0, nil))
	f.Add(EncodeValue(nil, KindPointer, 0, ValuePtr{Segment: 3, Offset: 4096, Len: 100}.Encode(nil)))
	f.Add([]byte{})
	f.Add([]byte{0x81, 1, 2})
	f.Fuzz(func(t *testing.T, v []byte) {
		kind, exp, payload, err := DecodeValue(v)
		if err != nil {
			if !errors.Is(err, ErrCorruption) {
				t.Fatalf("%v does not match ErrCorruption", err)
			}
		} else {
			k2, e2, p2, err := DecodeValue(EncodeValue(nil, kind, exp, payload))
			if err != nil || k2 != kind || e2 != exp || !bytes.Equal(p2, payload) {
				t.Fatalf("value (%v, %d, %q) does not survive a round trip: (%v, %d, %q), %v", kind, exp, payload, k2, e2, p2, err)
			}
			if kind != kind.Base() {
				t.Fatalf("decoded kind %v carries flags", kind)
			}
		}
		if p, err := DecodeValuePtr(v); err == nil {
			if !bytes.Equal(p.Encode(nil), v) {
				t.Fatalf("pointer %+v does not encode back to its bytes", p)
			}
		} else if !errors.Is(err, ErrCorruption) {
			t.Fatalf("%v does not match ErrCorruption", err)
		}
	})
}

// FuzzInternalKeys checks the internal-key encoding on arbitrary user keys
// and versions, and Compare on arbitrary bytes: the user key and version
// come back out, the order is user key ascending then version descending,
// and Compare is antisymmetric on anything, well-formed or not.
func FuzzInternalKeys(f *testing.F) {
	f.Add([]byte("a"), uint64(1), []byte("a"), uint64(2))
	f.Add([]byte("a"), uint64(0), []byte("a\x00"), MaxVersion)
	f.Add([]byte{}, uint64(5), []byte{0xff}, uint64(5))
	f.Fuzz(func(t *testing.T, u1 []byte, v1 uint64, u2 []byte, v2 uint64) {
		k1, k2 := MakeKey(nil, u1, v1), MakeKey(nil, u2, v2)
		if !bytes.Equal(UserKey(k1), u1) || Version(k1) != v1 {
			t.Fatalf("MakeKey(%q, %d) decodes to (%q, %d)", u1, v1, UserKey(k1), Version(k1))
		}
		want := bytes.Compare(u1, u2)
		if want == 0 {
			switch {
			case v1 > v2:
				want = -1
			case v1 < v2:
				want = 1
			}
		}
		if got := Compare(k1, k2); got != want {
			t.Fatalf("Compare(%q@%d, %q@%d) = %d, want %d", u1, v1, u2, v2, got, want)
		}
		if SameUserKey(k1, k2) != bytes.Equal(u1, u2) {
			t.Fatal("SameUserKey disagrees with the user keys")
		}
		// Raw bytes, possibly shorter than a trailer: no panic, antisymmetric.
		if Compare(u1, u2) != -Compare(u2, u1) {
			t.Fatalf("Compare(%q, %q) is not antisymmetric", u1, u2)
		}
		_, _ = UserKey(u1), Version(u1)
	})
}
