package filenum

import "testing"

func TestFormatParse(t *testing.T) {
	for _, c := range []struct {
		num   uint64
		width int
		name  string
	}{{7, 8, "00000007.wal"}, {123456789, 6, "123456789.vlog"}, {0, 6, "000000.sst"}} {
		ext := c.name[len(c.name)-len(".wal"):]
		if c.name[len(c.name)-5:] == ".vlog" {
			ext = ".vlog"
		}
		if got := Format(c.num, c.width, ext); got != c.name {
			t.Errorf("Format(%d, %d, %q) = %q, want %q", c.num, c.width, ext, got, c.name)
		}
		if n, ok := Parse(c.name, ext); !ok || n != c.num {
			t.Errorf("Parse(%q) = %d, %v", c.name, n, ok)
		}
	}
	for _, bad := range []string{".wal", "x.wal", "1x.wal", "+1.wal", "-1.wal", "1.wal.tmp", "1.vlog", "99999999999999999999999.wal"} {
		if n, ok := Parse(bad, ".wal"); ok {
			t.Errorf("Parse(%q) = %d, true; want false", bad, n)
		}
	}
	if n, ok := Parse("7.wal", ".wal"); !ok || n != 7 {
		t.Errorf("unpadded name: %d, %v", n, ok)
	}
}
