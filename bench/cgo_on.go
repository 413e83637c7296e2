//go:build cgo

package main

// cgoEnabled reports whether the harness was built with cgo. Pebble then
// allocates its block cache with C malloc and may use C zstd; the
// comparison is meant to be pure Go, so main refuses to measure unless
// --allow-cgo is given.
const cgoEnabled = true
