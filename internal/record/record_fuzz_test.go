package record

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/nokv/nokv/iface"
)

// FuzzReader reads arbitrary bytes as a file of records. The reader must end
// in io.EOF, a *TornError or a corruption error, never panic, only move
// forward, return payloads that fit in the file, and the records it returns
// must re-frame to exactly the bytes they were read from.
func FuzzReader(f *testing.F) {
	f.Add([]byte{})
	f.Add(Append(nil, []byte("hello")))
	f.Add(Append(Append(nil, []byte("one")), []byte("two")))
	f.Add(Append(nil, nil))
	f.Add(append(Append(nil, []byte("x")), 0, 0, 0, 0, 0, 0))
	good := Append(Append(nil, []byte("first record")), bytes.Repeat([]byte("z"), 300))
	f.Add(good[:len(good)-3])
	f.Add(append(good[:10:10], good[11:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(&memFile{data: data}, "f", int64(len(data)), 0)
		var payloads [][]byte
		last := int64(0)
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("more records (%d) than bytes", i)
			}
			p, off, err := r.Next()
			if err == io.EOF {
				if r.Offset() != int64(len(data)) {
					t.Fatalf("EOF at offset %d of %d", r.Offset(), len(data))
				}
				break
			}
			if err != nil {
				var torn *TornError
				if !errors.As(err, &torn) && !errors.Is(err, iface.ErrCorruption) {
					t.Fatalf("error %v is neither torn nor corruption", err)
				}
				break
			}
			if off != last || r.Offset() != off+int64(Size(len(p))) || r.Offset() > int64(len(data)) {
				t.Fatalf("record at %d (expected %d) of %d bytes ends at %d of %d", off, last, len(p), r.Offset(), len(data))
			}
			last = r.Offset()
			payloads = append(payloads, bytes.Clone(p))
		}
		// Every record read re-frames to the bytes it came from.
		var again []byte
		for _, p := range payloads {
			again = Append(again, p)
		}
		if !bytes.Equal(again, data[:len(again)]) {
			t.Fatal("records read do not re-frame to the input")
		}
	})
}
