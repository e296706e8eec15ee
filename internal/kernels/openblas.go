//go:build (linux || darwin) && (amd64 || arm64) && !noopenblas

package kernels

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/ebitengine/purego"
	"gonum.org/v1/gonum/blas"
)

// cblasLibraries are tried in order by the OpenBLAS backend.
var cblasLibraries = map[string][]string{
	"linux":  {"libopenblas.so.0", "libopenblas.so", "libcblas.so.3"},
	"darwin": {"libopenblas.dylib", "libopenblas.0.dylib", "libcblas.dylib"},
}

// CBLAS enumerations.
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// openBLAS is Implementation with Sgemm going to a CBLAS library.
type openBLAS struct {
	Implementation
	lib   string
	sgemm func(order, tA, tB, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)
}

var openBLASOnce struct {
	sync.Once
	impl *openBLAS
	err  error
}

// loadOpenBLAS opens the first CBLAS library found, once per process.
func loadOpenBLAS() (*openBLAS, error) {
	o := &openBLASOnce
	o.Do(func() { o.impl, o.err = openCBLAS(cblasLibraries[runtime.GOOS]) })
	return o.impl, o.err
}

// openCBLAS opens the first of names that loads and has cblas_sgemm.
func openCBLAS(names []string) (*openBLAS, error) {
	var errs []string
	for _, name := range names {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		sym, err := purego.Dlsym(h, "cblas_sgemm")
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		ob := &openBLAS{lib: name}
		purego.RegisterFunc(&ob.sgemm, sym)
		return ob, nil
	}
	return nil, errors.New("no CBLAS library found (tried " + strings.Join(names, ", ") + ": " + strings.Join(errs, "; ") + ")")
}

func (o *openBLAS) name() string { return o.lib }

// Sgemm is [Implementation.Sgemm] computed by the CBLAS library.
func (o *openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 || max(m, n, k, lda, ldb, ldc) > math.MaxInt32 {
		o.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
	if tA != blas.NoTrans {
		ta = cblasTrans
	}
	if tB != blas.NoTrans {
		tb = cblasTrans
	}
	o.sgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha, &a[0], int32(lda), &b[0], int32(ldb), beta, &c[0], int32(ldc))
}
