//go:build !linux

package vfs

func wrapOSFile(f osFile) File { return f }
