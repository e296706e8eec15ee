package mmap

import "fmt"

// File is a file's contents in memory.
type File struct {
	// Data is the whole file: read-only, valid until Close.
	Data  []byte
	unmap func() error
}

// Close releases Data. It is safe to call more than once.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap, f.Data = nil, nil
	return u()
}

// maxSize is the largest file Open maps: 1 TiB, far above any checkpoint.
const maxSize = 1 << 40

func tooLarge(path string, size int64) error {
	return fmt.Errorf("mmap: %s: size %d bytes is not between 0 and %d", path, size, int64(maxSize))
}
