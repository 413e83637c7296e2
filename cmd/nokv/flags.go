package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/nokv/nokv"
)

// command is the flag set of one verb plus what its usage text needs. The
// flag package's own printing is silenced: parse decides where the usage
// goes (stdout for --help, stderr for a mistake).
type command struct {
	fs       *flag.FlagSet
	name     string
	synopsis string // arguments after the verb, e.g. "--dir DIR KEY VALUE"
	about    string // a few sentences on what the verb does
	stdout   io.Writer
	stderr   io.Writer
}

func newCommand(name, synopsis, about string, stdout, stderr io.Writer) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &command{fs: fs, name: name, synopsis: synopsis, about: about, stdout: stdout, stderr: stderr}
}

// usage writes the verb's usage text to w.
func (c *command) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: nokv %s %s\n\n%s\n", c.name, c.synopsis, c.about)
	hasFlags := false
	c.fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nflags:\n")
		c.fs.SetOutput(w)
		c.fs.PrintDefaults()
		c.fs.SetOutput(io.Discard)
	}
}

// parse parses args and checks the number of positional arguments is in
// [minArgs, maxArgs] (maxArgs < 0: no limit). When it returns ok false the
// verb returns code at once: exitOK after --help, exitUsage after a mistake.
func (c *command) parse(args []string, minArgs, maxArgs int) (code int, ok bool) {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.stdout)
			return exitOK, false
		}
		return c.fail("%v", err), false
	}
	n := c.fs.NArg()
	switch {
	case n < minArgs:
		return c.fail("missing arguments (want %d, got %d)", minArgs, n), false
	case maxArgs >= 0 && n > maxArgs:
		return c.fail("too many arguments (want at most %d, got %d: %q)", maxArgs, n, c.fs.Args()), false
	}
	return exitOK, true
}

// fail reports a usage mistake and the usage text on stderr.
func (c *command) fail(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "nokv %s: %s\n\n", c.name, fmt.Sprintf(format, args...))
	c.usage(c.stderr)
	return exitUsage
}

// errorf reports a failure (not a usage mistake) on stderr and returns exitFail.
func (c *command) errorf(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "nokv %s: %s\n", c.name, fmt.Sprintf(format, args...))
	return exitFail
}

// dirFlag registers the --dir flag every verb but bench requires.
func (c *command) dirFlag() *string {
	return c.fs.String("dir", "", "store directory (required)")
}

// requireDir checks --dir was given.
func (c *command) requireDir(dir string) (int, bool) {
	if dir == "" {
		return c.fail("--dir is required"), false
	}
	return exitOK, true
}

// requireStore checks that dir holds a store, so that read-only verbs never
// create one by accident (Open would).
func requireStore(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no NoKV store here (no CURRENT file)", dir)
		}
		return err
	}
	return nil
}

// openOptions are the engine options the CLI verbs open a store with: the
// engine's defaults, with its log lines sent to the verb's stderr.
func openOptions(stderr io.Writer) *nokv.Options {
	return &nokv.Options{
		Logger: hclog.New(&hclog.LoggerOptions{Name: "nokv", Level: hclog.Warn, Output: stderr}),
	}
}

// openStore opens the store in dir. readOnly verbs require the store to
// exist and run without background flushes and compactions, so a quick read
// neither creates files nor waits for a compaction at Close.
func openStore(dir string, readOnly bool, stderr io.Writer) (*nokv.DB, error) {
	opts := openOptions(stderr)
	if readOnly {
		if err := requireStore(dir); err != nil {
			return nil, err
		}
		opts.DisableBackgroundWork = true
	}
	return nokv.Open(dir, opts)
}

// closeStore closes db, turning a failure into the verb's exit status.
func closeStore(c *command, db *nokv.DB, code int) int {
	if err := db.Close(); err != nil {
		c.errorf("close: %v", err)
		return exitFail
	}
	return code
}
