// Package cuda is the GPU side of neuronlens: a thin binding to the CUDA
// driver API, cuBLAS and NVRTC, loaded at run time, plus the CUDA C kernels
// of the image-tower forward pass, compiled at run time with NVRTC.
//
// It knows nothing about CLIP: clip/cuda composes the forward pass from the
// pieces here.
//
// # Build
//
// The binding is cgo and is compiled only with the build tag cuda (and
// CGO_ENABLED=1). It needs no CUDA toolkit to build: the few C types and
// prototypes it uses are declared here and the libraries are opened with
// dlopen when [Open] is first called. Without the tag the package holds only
// the pure-Go parts (the row-major to column-major GEMM mapping, the kernel
// source, the library search list), which are tested everywhere.
//
// # Libraries
//
// [Open] loads libcuda (the driver), libcublas and libnvrtc. Each is looked
// for, in order, in the directories of NEURONLENS_CUDA_LIBS (colon-separated),
// by the dynamic loader's own search (LD_LIBRARY_PATH, ldconfig), and in
// /usr/local/cuda/lib64 and /usr/local/cuda/targets/x86_64-linux/lib, under
// the names listed by [LibraryNames]. A missing library or a machine without
// a GPU is an error wrapping [ErrUnavailable], never a crash.
//
// # Layout and precision
//
// Device buffers hold float32, row-major, like the host slices they mirror.
// cuBLAS is column-major: a row-major product is issued as the transposed
// column-major one (see [RowMajor.ColMajor]). Products run in plain float32
// (CUBLAS_DEFAULT_MATH, no TF32) unless a context is opened with TF32.
//
// # Concurrency
//
// A [Context] is not safe for concurrent use: callers serialize their calls,
// and [Context.Bind] pins the calling goroutine to its OS thread and makes
// the context current there for the duration of a call.
package cuda
