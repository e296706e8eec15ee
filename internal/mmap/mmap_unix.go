//go:build unix

package mmap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Open maps the file at path. Errors from the operating system are returned
// as *fs.PathError, which name the path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < 0 || size > maxSize || int64(int(size)) != size {
		return nil, tooLarge(path, size)
	}
	if size == 0 || !fi.Mode().IsRegular() {
		// mmap cannot map nothing, nor a pipe: read instead.
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return &File{Data: b, unmap: func() error { return nil }}, nil
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: path, Err: err}
	}
	return &File{Data: b, unmap: func() error {
		if err := unix.Munmap(b); err != nil {
			return fmt.Errorf("mmap: %s: munmap: %w", path, err)
		}
		return nil
	}}, nil
}
