//go:build !unix

package mmap

import "os"

// Open reads the file at path into memory; this system has no mmap support
// here. Errors from the operating system are *fs.PathError, naming the path.
func Open(path string) (*File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxSize {
		return nil, tooLarge(path, fi.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &File{Data: b, unmap: func() error { return nil }}, nil
}
