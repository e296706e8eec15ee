package cuda

import (
	"errors"
	"path/filepath"
	"strings"
)

// ErrUnavailable is wrapped by every error that says CUDA cannot be used
// here: no driver, no GPU, a library missing, or a binary built without the
// cuda tag.
var ErrUnavailable = errors.New("cuda: unavailable")

// Library is one of the shared libraries [Open] loads.
type Library int

const (
	Driver Library = iota // libcuda, from the NVIDIA driver
	BLAS                  // libcublas
	NVRTC                 // libnvrtc
)

// LibraryNames returns the file names tried for lib, most specific first.
// The CUDA 12 and 13 sonames come before the unversioned development link.
func LibraryNames(lib Library) []string {
	switch lib {
	case Driver:
		return []string{"libcuda.so.1", "libcuda.so"}
	case BLAS:
		return []string{"libcublas.so.12", "libcublas.so.13", "libcublas.so.11", "libcublas.so"}
	case NVRTC:
		return []string{"libnvrtc.so.12", "libnvrtc.so.13", "libnvrtc.so.11.2", "libnvrtc.so"}
	}
	return nil
}

// String returns the library's short name.
func (l Library) String() string {
	return [...]string{"libcuda", "libcublas", "libnvrtc"}[l]
}

// searchDirs are tried after NEURONLENS_CUDA_LIBS and the loader's own path.
var searchDirs = []string{"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"}

// Candidates returns the paths tried for lib, in order: each name in each
// directory of NEURONLENS_CUDA_LIBS (env, colon-separated), then each bare
// name (the dynamic loader's search), then each name in the usual toolkit
// directories.
func Candidates(lib Library, env string) []string {
	var out []string
	names := LibraryNames(lib)
	for _, dir := range strings.Split(env, ":") {
		if dir == "" {
			continue
		}
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
	}
	out = append(out, names...)
	for _, dir := range searchDirs {
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out
}
