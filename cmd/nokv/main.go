// Command nokv is the command-line tool of the NoKV storage engine. It reads
// and writes a store directory, inspects and checks it, and benchmarks the
// engine. Every verb takes its own flags and answers --help:
//
//	nokv put      --dir DIR [--sync] KEY VALUE   write one key
//	nokv get      --dir DIR KEY                  print a value (exit 1 if absent)
//	nokv delete   --dir DIR KEY                  delete one key
//	nokv scan     --dir DIR [--prefix P] [--start K] [--end K]
//	              [--limit N] [--reverse] [--hex]
//	                                             print key<TAB>value lines
//	nokv stats    --dir DIR [--json]             print the engine's statistics
//	nokv manifest --dir DIR                      dump the manifest (read-only)
//	nokv check    --dir DIR                      verify a closed store
//	nokv vlog     --dir DIR [--gc] [--ratio R]   list (and collect) value-log segments
//	nokv bench    [--dir DIR] [--keys N] [--workloads LIST] [--matrix] ...
//	                                             run workloads, print a table
//	nokv stress   --dir DIR [--cycles N] ...     crash loop: kill -9 a writer, verify
//
// Keys and values on the command line are taken as raw bytes (no escapes).
// Exit status: 0 on success, 1 when the operation failed (including a missing
// key for get and a damaged store for check), 2 on a usage error.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit codes shared by every verb.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// verb is one sub-command: its name, a one-line summary for the verb list,
// and the function that runs it with the arguments after the verb.
type verb struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// verbs returns the sub-commands in the order `nokv help` lists them.
func verbs() []verb {
	return []verb{
		{"put", "write a key", runPut},
		{"get", "print the value of a key (exit 1 if absent)", runGet},
		{"delete", "delete a key", runDelete},
		{"scan", "print keys and values in order", runScan},
		{"stats", "print the engine's statistics", runStats},
		{"manifest", "dump the manifest of a store (read-only)", runManifest},
		{"check", "verify a closed store's files", runCheck},
		{"vlog", "list value-log segments; --gc collects them", runVlog},
		{"bench", "run benchmark workloads", runBench},
		{"stress", "crash loop: kill -9 a writer at random instants and verify the store", runStress},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program minus the process: it dispatches args (without
// the program name) to a verb and returns the exit status. A panic anywhere
// below is reported as an internal error instead of crashing.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "nokv: internal error: %v\n%s", r, debug.Stack())
			code = exitFail
		}
	}()
	if len(args) == 0 {
		printVerbs(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			// "nokv help VERB" is "nokv VERB --help".
			for _, v := range verbs() {
				if v.name == args[1] {
					return v.run([]string{"--help"}, stdout, stderr)
				}
			}
			fmt.Fprintf(stderr, "nokv: unknown verb %q\n", args[1])
			return exitUsage
		}
		printVerbs(stdout)
		return exitOK
	}
	for _, v := range verbs() {
		if v.name == name {
			return v.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "nokv: unknown verb %q (run 'nokv help' for the list)\n", name)
	return exitUsage
}

func printVerbs(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: nokv VERB --dir DIR [flags] [args]\n\nverbs:\n")
	for _, v := range verbs() {
		fmt.Fprintf(&b, "  %-9s %s\n", v.name, v.summary)
	}
	b.WriteString("\nRun 'nokv VERB --help' for the flags of a verb.\n")
	io.WriteString(w, b.String())
}
