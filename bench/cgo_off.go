//go:build !cgo

package main

// cgoEnabled reports whether the harness was built with cgo (see cgo_on.go).
const cgoEnabled = false
