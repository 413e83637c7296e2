package main

import (
	"bufio"
	"encoding/hex"
	"io"

	"github.com/nokv/nokv"
)

func runScan(args []string, stdout, stderr io.Writer) int {
	c := newCommand("scan", "--dir DIR [--prefix P] [--start K] [--end K] [--limit N] [--reverse] [--hex]",
		"Prints one \"key<TAB>value\" line per live key, in key order, keys and values as raw\n"+
			"bytes (or hex-encoded with --hex). --start is inclusive, --end exclusive; with\n"+
			"--prefix too, the range is their intersection.",
		stdout, stderr)
	dir := c.dirFlag()
	prefix := c.fs.String("prefix", "", "only keys starting with `P`")
	start := c.fs.String("start", "", "first key `K` (inclusive)")
	end := c.fs.String("end", "", "stop before key `K` (exclusive)")
	limit := c.fs.Int("limit", 0, "print at most `N` entries (0: all)")
	reverse := c.fs.Bool("reverse", false, "descending key order")
	hexOut := c.fs.Bool("hex", false, "print keys and values hex-encoded")
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	if *limit < 0 {
		return c.fail("--limit must not be negative")
	}
	db, err := openStore(*dir, true, stderr)
	if err != nil {
		return c.errorf("%v", err)
	}
	o := &nokv.IterOptions{}
	if *prefix != "" {
		o.Prefix = []byte(*prefix)
	}
	if *start != "" {
		o.LowerBound = []byte(*start)
	}
	if *end != "" {
		o.UpperBound = []byte(*end)
	}
	if err := scan(db, o, *limit, *reverse, *hexOut, stdout); err != nil {
		return closeStore(c, db, c.errorf("%v", err))
	}
	return closeStore(c, db, exitOK)
}

// scan writes the entries of db within o to w.
func scan(db *nokv.DB, o *nokv.IterOptions, limit int, reverse, hexOut bool, w io.Writer) error {
	it, err := db.NewIterator(o)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var hbuf []byte
	put := func(b []byte) {
		if hexOut {
			hbuf = hex.AppendEncode(hbuf[:0], b)
			bw.Write(hbuf)
		} else {
			bw.Write(b)
		}
	}
	n := 0
	ok := it.First()
	if reverse {
		ok = it.Last()
	}
	for ; ok && (limit == 0 || n < limit); n++ {
		v, err := it.Value()
		if err != nil {
			it.Close()
			return err
		}
		put(it.Key())
		bw.WriteByte('\t')
		put(v)
		if err := bw.WriteByte('\n'); err != nil {
			it.Close()
			return err
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
