//go:build !((linux || darwin) && (amd64 || arm64)) || noopenblas

package kernels

import (
	"errors"

	"gonum.org/v1/gonum/blas"
)

// openBLAS is unavailable in this build.
type openBLAS struct{ Implementation }

func (*openBLAS) name() string { return BackendOpenBLAS }

func (o *openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	o.Implementation.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func loadOpenBLAS() (*openBLAS, error) { return openCBLAS(nil) }

func openCBLAS([]string) (*openBLAS, error) {
	return nil, errors.New("loading a CBLAS library needs linux or darwin on amd64 or arm64, without the noopenblas tag")
}
