package record

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
)

// memFile is a vfs.File over a byte slice; shortBy makes ReadAt return that
// many bytes fewer than the file holds, as if it shrank under the reader.
type memFile struct {
	data    []byte
	shortBy int
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	end := int64(len(f.data) - f.shortBy)
	if off >= end {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:end])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (f *memFile) Write(p []byte) (int, error) { f.data = append(f.data, p...); return len(p), nil }
func (f *memFile) Sync() error                 { return nil }
func (f *memFile) Size() (int64, error)        { return int64(len(f.data)), nil }
func (f *memFile) Truncate(n int64) error      { f.data = f.data[:n]; return nil }
func (f *memFile) Close() error                { return nil }

const name = "test.log"

func newReader(data []byte) *Reader {
	return NewReader(&memFile{data: data}, name, int64(len(data)), 0)
}

// readAll returns the payloads (copied) up to the first non-nil error.
func readAll(r *Reader) ([][]byte, []int64, error) {
	var recs [][]byte
	var offs []int64
	for {
		p, off, err := r.Next()
		if err != nil {
			return recs, offs, err
		}
		recs = append(recs, bytes.Clone(p))
		offs = append(offs, off)
	}
}

func TestChecksumKnownValue(t *testing.T) {
	// The standard CRC-32C check value.
	if got := Checksum([]byte("123456789")); got != 0xe3069283 {
		t.Fatalf("Checksum = %08x, want e3069283", got)
	}
}

func TestAppendGolden(t *testing.T) {
	got := hex.EncodeToString(Append([]byte{0xaa}, []byte("abc")))
	// prefix kept | length 3 LE | crc32c(03000000) LE | "abc" | crc32c(header ++ "abc") LE
	want := "aa" + "03000000" + "fec2452a" + "616263" + "a0f611ed"
	if got != want {
		t.Fatalf("Append = %s, want %s", got, want)
	}
	if Size(3) != len(want)/2-1 {
		t.Fatalf("Size(3) = %d", Size(3))
	}
}

func TestRoundTrip(t *testing.T) {
	payloads := [][]byte{
		{},
		[]byte("x"),
		bytes.Repeat([]byte("abcdefgh"), 100),
		{0, 0, 0, 0}, // zeros inside a valid record are not a zero tail
		bytes.Repeat([]byte{0xfe}, 70000),
		[]byte("last"),
	}
	var data []byte
	var wantOffs []int64
	for _, p := range payloads {
		wantOffs = append(wantOffs, int64(len(data)))
		data = Append(data, p)
	}
	r := newReader(data)
	recs, offs, err := readAll(r)
	if err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
	if len(recs) != len(payloads) {
		t.Fatalf("read %d records, want %d", len(recs), len(payloads))
	}
	for i := range payloads {
		if !bytes.Equal(recs[i], payloads[i]) || offs[i] != wantOffs[i] {
			t.Fatalf("record %d: got %d bytes at %d, want %d bytes at %d",
				i, len(recs[i]), offs[i], len(payloads[i]), wantOffs[i])
		}
	}
	if r.Offset() != int64(len(data)) {
		t.Fatalf("Offset = %d, want %d", r.Offset(), len(data))
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("Next after EOF: %v", err)
	}

	// Starting at a record boundary reads from there.
	r = NewReader(&memFile{data: data}, name, int64(len(data)), wantOffs[2])
	recs, _, err = readAll(r)
	if err != io.EOF || len(recs) != len(payloads)-2 || !bytes.Equal(recs[0], payloads[2]) {
		t.Fatalf("from offset %d: %d records, %v", wantOffs[2], len(recs), err)
	}
}

func TestEmptyFile(t *testing.T) {
	if _, off, err := newReader(nil).Next(); err != io.EOF || off != 0 {
		t.Fatalf("empty file: off %d, %v", off, err)
	}
}

func good() ([]byte, int64) {
	var data []byte
	for _, p := range []string{"alpha", "beta", "gamma"} {
		data = Append(data, []byte(p))
	}
	return data, int64(len(data))
}

func TestTornTails(t *testing.T) {
	next := Append(nil, []byte("delta-delta-delta"))
	badCRC := bytes.Clone(next)
	badCRC[len(badCRC)-1] ^= 0xff
	hugeLen := binary.LittleEndian.AppendUint32(nil, MaxPayload+1) // > MaxPayload, with a valid length check
	hugeLen = binary.LittleEndian.AppendUint32(hugeLen, Checksum(hugeLen))
	hugeLen = append(hugeLen, 1, 2, 3, 4, 5)
	cases := []struct {
		name   string
		tail   []byte
		reason string
	}{
		{"partial header", next[:2], "partial record header"},
		{"header without trailer", next[:11], "partial record header"},
		{"partial payload", next[:14], "runs past end"},
		{"missing crc", next[:len(next)-4], "runs past end"},
		{"short zero tail", make([]byte, 5), "zero-filled"},
		{"zero header and crc", make([]byte, 8), "zero-filled"},
		{"long zero tail", make([]byte, 10000), "zero-filled"},
		{"last record bad crc", badCRC, "fails its checksum"},
		{"length over MaxPayload", hugeLen, "runs past end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, goodEnd := good()
			data = append(data, c.tail...)
			recs, _, err := readAll(newReader(data))
			if len(recs) != 3 {
				t.Fatalf("read %d good records, want 3", len(recs))
			}
			var torn *TornError
			if !errors.As(err, &torn) || !errors.Is(err, ErrTorn) {
				t.Fatalf("got %v, want a torn tail", err)
			}
			if errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("torn tail also matches ErrCorruption: %v", err)
			}
			if torn.Offset != goodEnd || torn.File != name {
				t.Fatalf("torn at %s:%d, want %s:%d", torn.File, torn.Offset, name, goodEnd)
			}
			if !strings.Contains(torn.Reason, c.reason) {
				t.Fatalf("reason %q, want it to mention %q", torn.Reason, c.reason)
			}
		})
	}
}

func TestCorruption(t *testing.T) {
	data, _ := good()
	second := int64(Size(len("alpha")))
	cases := []struct {
		name string
		mut  func(d []byte) []byte
		off  int64
	}{
		{"payload byte", func(d []byte) []byte { d[second+5] ^= 1; return d }, second},
		{"crc byte", func(d []byte) []byte { d[int(second)+Size(4)-1] ^= 0x80; return d }, second},
		{"length shrunk", func(d []byte) []byte { d[second] = 1; return d }, second},
		{"zero hole before data", func(d []byte) []byte {
			clear(d[second : int(second)+Size(4)])
			return d
		}, second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := c.mut(bytes.Clone(data))
			recs, _, err := readAll(newReader(d))
			if len(recs) != 1 {
				t.Fatalf("read %d records before the damage, want 1", len(recs))
			}
			var ce *iface.CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("got %v, want corruption", err)
			}
			if errors.Is(err, ErrTorn) {
				t.Fatalf("corruption also matches ErrTorn: %v", err)
			}
			if ce.File != name || ce.Offset != c.off {
				t.Fatalf("corruption at %s:%d, want %s:%d", ce.File, ce.Offset, name, c.off)
			}
		})
	}
}

func TestStartPastEnd(t *testing.T) {
	data, end := good()
	r := NewReader(&memFile{data: data}, name, end, end+3)
	if _, _, err := r.Next(); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("start past end: %v, want corruption", err)
	}
}

func TestShortReadIsAnError(t *testing.T) {
	data, end := good()
	// The file claims end bytes but serves 3 fewer: the last record cannot be
	// read in full, which must surface as an error, not as a record.
	r := NewReader(&memFile{data: data, shortBy: 3}, name, end, 0)
	recs, _, err := readAll(r)
	if len(recs) != 2 || err == nil || err == io.EOF {
		t.Fatalf("got %d records and %v, want 2 and a read error", len(recs), err)
	}
}

func TestFlipEveryByte(t *testing.T) {
	data, _ := good()
	data = append(data, Append(nil, []byte("tail"))...)
	for i := range data {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			d := bytes.Clone(data)
			d[i] ^= mask
			_, _, err := readAll(newReader(d))
			if err == io.EOF {
				t.Fatalf("flip %#x at %d: read to a clean end", mask, i)
			}
			if !errors.Is(err, ErrTorn) && !errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("flip %#x at %d: %v", mask, i, err)
			}
		}
	}
}

// TestDamagedLengthIsCorruption: a flipped bit that makes a middle record's
// length point past the end of the file must not pass for a torn tail, or
// the records after it would be truncated away silently.
func TestDamagedLengthIsCorruption(t *testing.T) {
	data, _ := good()
	first := Size(len("alpha"))
	for _, pos := range []int{first, first + 1, first + 2, first + 3} {
		d := bytes.Clone(data)
		d[pos] ^= 0x80
		recs, _, err := readAll(newReader(d))
		if len(recs) != 1 {
			t.Fatalf("flip at %d: read %d records before the damage, want 1", pos, len(recs))
		}
		if !errors.Is(err, iface.ErrCorruption) || errors.Is(err, ErrTorn) {
			t.Fatalf("flip at %d: got %v, want corruption", pos, err)
		}
	}
}

// TestInterruptedCopyIsTorn writes a record into zeroed, preallocated space
// with CopyInOrder and stops the copy after every prefix of its chunks,
// storing any subset of the interrupted chunk's bytes (memmove may store a
// chunk's tail first): every such file must read as the good records and a
// torn tail, never as damage. Damage that is not such a pattern (a nonzero
// byte past the interrupted chunk) stays corruption.
func TestInterruptedCopyIsTorn(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 20) // several chunks
	rec := Append(nil, payload)
	head, goodEnd := good()
	for stop := 0; stop < len(rec); stop++ {
		chunk := stop / TornSpan * TornSpan
		for _, tailFirst := range []bool{false, true} {
			data := append(bytes.Clone(head), make([]byte, len(rec)+4096)...)
			dst := data[len(head):]
			if n := CopyInOrder(dst[:chunk], rec); n != chunk {
				t.Fatalf("CopyInOrder copied %d of %d", n, chunk)
			}
			// The interrupted chunk: bytes [chunk, stop) written from its
			// start, or the bytes (stop, chunk end) written from its tail.
			end := min(chunk+TornSpan, len(rec))
			if tailFirst {
				copy(dst[stop+1:end], rec[stop+1:end])
			} else {
				copy(dst[chunk:stop], rec[chunk:stop])
			}
			recs, _, err := readAll(newReader(data))
			if len(recs) != 3 || !errors.Is(err, ErrTorn) || errors.Is(err, iface.ErrCorruption) {
				t.Fatalf("copy stopped at %d (tail first %v): %d records, %v; want 3 and a torn tail", stop, tailFirst, len(recs), err)
			}
			var torn *TornError
			if errors.As(err, &torn); torn.Offset != goodEnd {
				t.Fatalf("copy stopped at %d: torn at %d, want %d", stop, torn.Offset, goodEnd)
			}
		}
	}
	// A zero header with data well past the first chunk is damage.
	data := append(bytes.Clone(head), make([]byte, 4096)...)
	data[len(head)+3*TornSpan] = 1
	if _, _, err := readAll(newReader(data)); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("zero header followed by data: %v, want corruption", err)
	}
	// So is a bad record with a good one after it.
	bad := Append(nil, payload)
	bad[20] ^= 1
	data = append(append(append(bytes.Clone(head), bad...), Append(nil, payload)...), make([]byte, 100)...)
	if _, _, err := readAll(newReader(data)); !errors.Is(err, iface.ErrCorruption) {
		t.Fatalf("bad record before a good one: %v, want corruption", err)
	}
}
