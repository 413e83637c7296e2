package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nokv/nokv/vlog"
)

func runVlog(args []string, stdout, stderr io.Writer) int {
	c := newCommand("vlog", "--dir DIR [--gc] [--ratio R]",
		"Lists the value-log segments of a store written with the value log: size,\n"+
			"bytes known to be garbage and the garbage ratio. With --gc it first runs\n"+
			"value-log GC until no segment has at least --ratio garbage. It first compacts\n"+
			"the whole store, so that every overwritten value is counted as garbage.",
		stdout, stderr)
	dir := c.dirFlag()
	gc := c.fs.Bool("gc", false, "collect segments before listing them")
	ratio := c.fs.Float64("ratio", 0.5, "garbage ratio from which --gc collects a segment (0 < R <= 1)")
	if code, ok := c.parse(args, 0, 0); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	if *ratio <= 0 || *ratio > 1 {
		return c.fail("--ratio must be in (0, 1]")
	}
	db, err := openStore(*dir, !*gc, stderr)
	if err != nil {
		return c.errorf("%v", err)
	}
	vs, ok := db.ValueStore().(*vlog.Store)
	if !ok {
		return closeStore(c, db, c.errorf("the store keeps values inline (value store %s); it has no value log", db.ValueStore().Name()))
	}
	if *gc {
		if err := db.CompactAll(); err != nil {
			return closeStore(c, db, c.errorf("compact: %v", err))
		}
		n := 0
		var live int64
		for {
			res, err := db.RunValueLogGC(*ratio)
			if err != nil {
				return closeStore(c, db, c.errorf("gc: %v", err))
			}
			if !res.Collected {
				break
			}
			n++
			live += res.LiveBytes
			fmt.Fprintf(stdout, "collected segment %d: %d live values rewritten (%s), %d garbage\n",
				res.Segment, res.Live, humanBytes(res.LiveBytes), res.Garbage)
		}
		fmt.Fprintf(stdout, "gc: %d segments collected, %s rewritten\n\n", n, humanBytes(live))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "segment\tsize\tgarbage\tratio\tstate\t\n")
	var total, garbage int64
	for _, s := range vs.Segments() {
		state := "sealed"
		switch {
		case s.Active:
			state = "active"
		case s.Removing:
			state = "removing"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.2f\t%s\t\n", s.Number, humanBytes(s.Size), humanBytes(s.Discard), s.Ratio, state)
		total += s.Size
		garbage += s.Discard
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t\t\t\n", humanBytes(total), humanBytes(garbage))
	tw.Flush()
	return closeStore(c, db, exitOK)
}
