//go:build linux

package vfs

import (
	"fmt"
	"syscall"
)

// mappedOSFile is an osFile that can be mapped (see Mappable).
type mappedOSFile struct {
	osFile
	m []byte
}

func wrapOSFile(f osFile) File { return &mappedOSFile{osFile: f} }

func (f *mappedOSFile) Map(size int64) ([]byte, error) {
	if err := f.Unmap(); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("map %s: size %d", f.Name(), size)
	}
	fd := int(f.Fd())
	// fallocate reserves the blocks: a store into a mapped page the file
	// system cannot back would kill the process with SIGBUS.
	if err := syscall.Fallocate(fd, 0, 0, size); err != nil {
		return nil, fmt.Errorf("allocate %d bytes for %s: %w", size, f.Name(), err)
	}
	m, err := syscall.Mmap(fd, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	f.m = m
	return m, nil
}

func (f *mappedOSFile) Unmap() error {
	if f.m == nil {
		return nil
	}
	err := syscall.Munmap(f.m)
	f.m = nil
	if err != nil {
		return fmt.Errorf("unmap %s: %w", f.Name(), err)
	}
	return nil
}

func (f *mappedOSFile) Close() error {
	uerr := f.Unmap()
	err := f.osFile.Close()
	if err == nil {
		err = uerr
	}
	return err
}
