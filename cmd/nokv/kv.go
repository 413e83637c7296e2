package main

import (
	"errors"
	"io"

	"github.com/nokv/nokv"
)

func runPut(args []string, stdout, stderr io.Writer) int {
	c := newCommand("put", "--dir DIR [--sync] KEY VALUE",
		"Writes VALUE under KEY, creating the store if needed. Both are taken as raw bytes.",
		stdout, stderr)
	dir := c.dirFlag()
	sync := c.fs.Bool("sync", false, "fsync the write before returning (survives a power loss)")
	if code, ok := c.parse(args, 2, 2); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	key, value := c.fs.Arg(0), c.fs.Arg(1)
	if key == "" {
		return c.fail("KEY must not be empty")
	}
	db, err := openStore(*dir, false, stderr)
	if err != nil {
		return c.errorf("%v", err)
	}
	code := exitOK
	if err := db.Set([]byte(key), []byte(value), &nokv.WriteOptions{Sync: *sync}); err != nil {
		code = c.errorf("%v", err)
	}
	return closeStore(c, db, code)
}

func runGet(args []string, stdout, stderr io.Writer) int {
	c := newCommand("get", "--dir DIR KEY",
		"Prints the value of KEY (raw bytes and a newline). Exits 1 when KEY is absent.",
		stdout, stderr)
	dir := c.dirFlag()
	if code, ok := c.parse(args, 1, 1); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	key := c.fs.Arg(0)
	if key == "" {
		return c.fail("KEY must not be empty")
	}
	db, err := openStore(*dir, true, stderr)
	if err != nil {
		return c.errorf("%v", err)
	}
	code := exitOK
	v, err := db.Get([]byte(key))
	switch {
	case errors.Is(err, nokv.ErrNotFound):
		code = c.errorf("key %q not found", key)
	case err != nil:
		code = c.errorf("%v", err)
	default:
		v = append(v, '\n')
		if _, err := stdout.Write(v); err != nil {
			code = c.errorf("write: %v", err)
		}
	}
	return closeStore(c, db, code)
}

func runDelete(args []string, stdout, stderr io.Writer) int {
	c := newCommand("delete", "--dir DIR [--sync] KEY",
		"Deletes KEY. Deleting an absent key is not an error.",
		stdout, stderr)
	dir := c.dirFlag()
	sync := c.fs.Bool("sync", false, "fsync the deletion before returning")
	if code, ok := c.parse(args, 1, 1); !ok {
		return code
	}
	if code, ok := c.requireDir(*dir); !ok {
		return code
	}
	key := c.fs.Arg(0)
	if key == "" {
		return c.fail("KEY must not be empty")
	}
	if err := requireStore(*dir); err != nil {
		return c.errorf("%v", err)
	}
	db, err := openStore(*dir, false, stderr)
	if err != nil {
		return c.errorf("%v", err)
	}
	code := exitOK
	if err := db.Delete([]byte(key), &nokv.WriteOptions{Sync: *sync}); err != nil {
		code = c.errorf("%v", err)
	}
	return closeStore(c, db, code)
}
