package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nokv/nokv/iface"
	"github.com/nokv/nokv/internal/record"
	"github.com/nokv/nokv/vfs"
)

// TestFlippedByte flips every byte of a small store's CURRENT and manifest,
// one at a time and in two ways (low bit, all bits). Verify must always report the damage,
// naming the file and an offset. Open must either fail the same way or, when
// the damage is in the last record (indistinguishable from an interrupted
// append), return the state before the last edit. Nothing may panic.
func TestFlippedByte(t *testing.T) {
	src := t.TempDir()
	m := mustOpen(t, src, Options{})
	edits := testEdits()
	for _, e := range edits {
		mustManifestApply(t, m, e)
	}
	m.Close()
	manifestData, err := os.ReadFile(filepath.Join(src, "MANIFEST-000001"))
	if err != nil {
		t.Fatal(err)
	}
	currentData, err := os.ReadFile(filepath.Join(src, "CURRENT"))
	if err != nil {
		t.Fatal(err)
	}
	states := statesAfter(t, edits)
	beforeLast := states[len(edits)-1]
	lastRecord := int64(len(manifestData) - len(recordOf(edits[len(edits)-1])))

	dir := t.TempDir()
	manifestPath := filepath.Join(dir, "MANIFEST-000001")
	currentPath := filepath.Join(dir, "CURRENT")
	torn := 0
	for _, target := range []struct {
		path string
		data []byte
	}{{manifestPath, manifestData}, {currentPath, currentData}} {
		for pos := range target.data {
			for _, mask := range []byte{0x01, 0xff} {
				if err := os.WriteFile(manifestPath, manifestData, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(currentPath, currentData, 0o644); err != nil {
					t.Fatal(err)
				}
				damaged := append([]byte(nil), target.data...)
				damaged[pos] ^= mask
				if err := os.WriteFile(target.path, damaged, 0o644); err != nil {
					t.Fatal(err)
				}
				verr := Verify(vfs.Default, dir)
				var vce *iface.CorruptionError
				if !errors.As(verr, &vce) || vce.File != target.path || vce.Offset < 0 || vce.Offset >= int64(len(target.data)) {
					t.Fatalf("%s: flip %#x at %d: Verify = %v, want corruption naming the file and an offset", target.path, mask, pos, verr)
				}
				loaded, lerr := Load(vfs.Default, dir)
				m, oerr := Open(vfs.Default, dir, Options{})
				if oerr != nil {
					var oce *iface.CorruptionError
					if !errors.As(oerr, &oce) || oce.File != target.path || oce.Offset < 0 {
						t.Fatalf("%s: flip %#x at %d: Open = %v, want corruption naming the file and an offset", target.path, mask, pos, oerr)
					}
					if lerr == nil {
						t.Fatalf("%s: flip %#x at %d: Open fails but Load does not", target.path, mask, pos)
					}
					continue
				}
				got := m.State()
				m.Close()
				if target.path != manifestPath || int64(pos) < lastRecord || !strings.Contains(vce.Reason, "torn") || vce.Offset != lastRecord {
					t.Fatalf("%s: flip %#x at %d: Open succeeded (Verify said %v)", target.path, mask, pos, verr)
				}
				if !reflect.DeepEqual(got, beforeLast) {
					t.Fatalf("%s: flip %#x at %d: Open returned %+v, want the state before the last edit", target.path, mask, pos, got)
				}
				if lerr != nil || !reflect.DeepEqual(loaded, beforeLast) {
					t.Fatalf("%s: flip %#x at %d: Load = %+v, %v", target.path, mask, pos, loaded, lerr)
				}
				torn++
			}
		}
	}
	if torn == 0 {
		t.Fatalf("no flip was read as a torn tail; the test lost its edge")
	}
}

func recordOf(e *Edit) []byte { return record.Append(nil, e.Encode(nil)) }
