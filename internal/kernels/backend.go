package kernels

import (
	"fmt"
	"os"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"
)

// BLAS backends accepted by [Use] and the NEURONLENS_BLAS variable.
const (
	// BackendGo is this package's pure-Go [Implementation] (assembly
	// micro-kernels on amd64), the default.
	BackendGo = "go"
	// BackendOpenBLAS loads OpenBLAS (or another CBLAS) at run time,
	// without cgo, and fails when no library is found.
	BackendOpenBLAS = "openblas"
	// BackendAuto is OpenBLAS when a library is found and Go otherwise.
	BackendAuto = "auto"
)

// EnvBLAS names the environment variable read by [UseFromEnv].
const EnvBLAS = "NEURONLENS_BLAS"

// backend is the one piece of global state besides the micro-kernel chosen
// from the CPU: the name of the implementation handed to blas32.Use.
var backend struct {
	sync.Mutex
	name string
	err  error // from the init-time UseFromEnv, if any
}

func init() {
	if err := UseFromEnv(); err != nil {
		backend.err = err
		_ = Use(BackendGo)
	}
}

// Use installs the named backend ("go", "openblas" or "auto"; "" means
// "go") as gonum's blas32 implementation, which every matrix product of the
// module goes through. It returns an error for an unknown name and, for
// "openblas", when no CBLAS library can be loaded; the backend in use is
// then unchanged. Use must not run concurrently with matrix products.
func Use(name string) error {
	var impl interface{ name() string }
	switch name {
	case "", BackendGo:
		impl = goBackend{}
	case BackendOpenBLAS:
		ob, err := loadOpenBLAS()
		if err != nil {
			return fmt.Errorf("kernels: %s backend: %w", BackendOpenBLAS, err)
		}
		impl = ob
	case BackendAuto:
		if ob, err := loadOpenBLAS(); err == nil {
			impl = ob
		} else {
			impl = goBackend{}
		}
	default:
		return fmt.Errorf("kernels: unknown BLAS backend %q (want %q, %q or %q)", name, BackendGo, BackendOpenBLAS, BackendAuto)
	}
	backend.Lock()
	defer backend.Unlock()
	switch b := impl.(type) {
	case goBackend:
		blas32.Use(Implementation{})
	case *openBLAS:
		blas32.Use(b)
	}
	backend.name = impl.name()
	backend.err = nil
	return nil
}

// UseFromEnv calls [Use] with the value of NEURONLENS_BLAS ("go" when
// unset). The package's init runs it; when it fails there, the Go backend
// is installed and [Backend] reports the error.
func UseFromEnv() error { return Use(os.Getenv(EnvBLAS)) }

// Backend reports the backend in use ("go" or the CBLAS library's file
// name) and the error, if any, that made the package's init fall back to
// "go" from the one NEURONLENS_BLAS asked for.
func Backend() (name string, initErr error) {
	backend.Lock()
	defer backend.Unlock()
	return backend.name, backend.err
}

type goBackend struct{}

func (goBackend) name() string { return BackendGo }
