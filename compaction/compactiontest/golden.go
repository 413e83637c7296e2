// Package compactiontest holds what the tests of every compaction policy
// share: golden-file scripts over level shapes (RunGolden, ParseShape,
// FormatPlan), a check that a plan keeps the read-path invariant
// (ValidatePlan), and a model of the tree with versions that applies plans
// and checks the invariant key range by key range (Model, RunProperties).
//
// Golden files live in each policy's testdata folder and are regenerated with
//
//	go test ./compaction/... -rewrite
//
// and reviewed in the diff.
package compactiontest

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files under testdata with the current output")

// A golden file is a list of cases. Lines starting with '#' and blank lines
// before a case are comments, kept on rewrite. A case is a command line
// (a name and key=value arguments), input lines, a line "----", and the
// expected output up to the next blank line:
//
//	# L0 reached its trigger.
//	pick L0Trigger=2
//	L0 5:10:c-f 4:10:a-d
//	L6 1:50:a-b 2:50:e-g
//	busy 2
//	----
//	plan: none
//
// Outputs never hold blank lines.

// Case is one case of a golden file.
type Case struct {
	Pos   string // file:line of the command
	Cmd   string
	Input []string
	Want  string

	args []arg
	used map[string]bool
	pre  []string // comment lines before the case
}

type arg struct{ key, val string }

// Arg returns the value of the argument key and whether it is present.
func (c *Case) Arg(key string) (string, bool) {
	for _, a := range c.args {
		if a.key == key {
			c.used[key] = true
			return a.val, true
		}
	}
	return "", false
}

// Int returns the integer argument key (optionally negative; a size suffix
// K, M, G or T multiplies by 2^10, 2^20, 2^30, 2^40), or def when absent.
func (c *Case) Int(key string, def int64) (int64, error) {
	v, ok := c.Arg(key)
	if !ok {
		return def, nil
	}
	neg := strings.HasPrefix(v, "-")
	n, err := ParseSize(strings.TrimPrefix(v, "-"))
	if err != nil {
		return 0, fmt.Errorf("%s: argument %s: %w", c.Pos, key, err)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// Bool returns the boolean argument key, or false when absent.
func (c *Case) Bool(key string) (bool, error) {
	v, ok := c.Arg(key)
	if !ok {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// unused returns the arguments no Arg call asked for.
func (c *Case) unused() []string {
	var out []string
	for _, a := range c.args {
		if !c.used[a.key] {
			out = append(out, a.key)
		}
	}
	return out
}

// RunGolden runs every case of the golden file at path through run and
// compares its output with the expected one; with -rewrite it rewrites the
// file with the outputs instead. An argument run never asked for fails the
// case.
func RunGolden(t *testing.T, path string, run func(c *Case) (string, error)) {
	t.Helper()
	cases, epilogue, err := parseGolden(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range cases {
		got, err := run(c)
		if err != nil {
			t.Errorf("%s: %v", c.Pos, err)
			got = "error: " + err.Error()
		}
		got = strings.TrimRight(got, "\n")
		if strings.Contains(got, "\n\n") {
			t.Errorf("%s: output holds a blank line:\n%s", c.Pos, got)
		}
		if u := c.unused(); len(u) > 0 {
			t.Errorf("%s: unknown arguments %v", c.Pos, u)
		}
		if !*rewrite && got != c.Want {
			t.Errorf("%s: %s\n got:\n%s\nwant:\n%s\n(go test -rewrite regenerates golden files)", c.Pos, c.Cmd, got, c.Want)
		}
		for _, l := range c.pre {
			b.WriteString(l + "\n")
		}
		b.WriteString(c.Cmd)
		for _, a := range c.args {
			b.WriteString(" " + a.key + "=" + a.val)
		}
		b.WriteString("\n")
		for _, l := range c.Input {
			b.WriteString(l + "\n")
		}
		b.WriteString("----\n" + got + "\n\n")
	}
	for _, l := range epilogue {
		b.WriteString(l + "\n")
	}
	if *rewrite {
		out := strings.TrimRight(b.String(), "\n") + "\n"
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func parseGolden(path string) ([]*Case, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var (
		cases []*Case
		pre   []string
	)
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \t")
		if l == "" || strings.HasPrefix(l, "#") {
			pre = append(pre, l)
			continue
		}
		c := &Case{Pos: fmt.Sprintf("%s:%d", path, i+1), pre: pre, used: map[string]bool{}}
		pre = nil
		f := strings.Fields(l)
		c.Cmd = f[0]
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, nil, fmt.Errorf("%s: argument %q is not key=value", c.Pos, kv)
			}
			c.args = append(c.args, arg{k, v})
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "----"; i++ {
			c.Input = append(c.Input, strings.TrimSpace(lines[i]))
		}
		if i == len(lines) {
			return nil, nil, fmt.Errorf("%s: case has no ---- line", c.Pos)
		}
		var want []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			want = append(want, strings.TrimRight(lines[i], " \t"))
		}
		c.Want = strings.Join(want, "\n")
		cases = append(cases, c)
	}
	// Drop the blank separator lines that follow the last case.
	for len(pre) > 0 && pre[0] == "" {
		pre = pre[1:]
	}
	return cases, pre, nil
}
