package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is a blas.Float32 whose Level 3 Sgemm runs the packed,
// cache-blocked micro-kernels of this package on every core; every other
// routine is gonum's pure-Go one. The zero value uses the best kernel for
// the CPU. It is safe for concurrent use.
type Implementation struct {
	gonum.Implementation

	// kernel, when non-nil, replaces the CPU's best micro-kernel (tests).
	kernel *microKernel
	// maxWorkers, when positive, caps the goroutines of one call.
	maxWorkers int
}

var _ blas.Float32 = Implementation{}

// bestKernel is the fastest micro-kernel this CPU runs, chosen once.
var bestKernel = kernelsAvailable()[0]

func (impl Implementation) micro() *microKernel {
	if impl.kernel != nil {
		return impl.kernel
	}
	return bestKernel
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major A, B and C,
// where op(X) is X or Xᵀ as tA, tB say, op(A) is m×k, op(B) k×n and C m×n.
// When beta is 0, C is overwritten and may hold NaN on entry. Sgemm panics
// on invalid arguments as gonum's does.
func (impl Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(tA, tB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	w := impl.maxWorkers
	if w <= 0 {
		w = workers()
	}
	impl.micro().gemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, w)
}

// checkGemm panics unless the Sgemm arguments describe matrices that fit
// their slices.
func checkGemm(tA, tB blas.Transpose, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	switch tA {
	case blas.NoTrans, blas.Trans, blas.ConjTrans:
	default:
		panic(errBadTrans)
	}
	switch tB {
	case blas.NoTrans, blas.Trans, blas.ConjTrans:
	default:
		panic(errBadTrans)
	}
	if m < 0 {
		panic(errMLT0)
	}
	if n < 0 {
		panic(errNLT0)
	}
	if k < 0 {
		panic(errKLT0)
	}
	// Stored shapes: A is m×k, or k×m when transposed; likewise B.
	ra, ca := m, k
	if tA != blas.NoTrans {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB != blas.NoTrans {
		rb, cb = n, k
	}
	if lda < max(1, ca) {
		panic(errBadLdA)
	}
	if ldb < max(1, cb) {
		panic(errBadLdB)
	}
	if ldc < max(1, n) {
		panic(errBadLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	if ra > 0 && ca > 0 && la < lda*(ra-1)+ca {
		panic(errShortA)
	}
	if rb > 0 && cb > 0 && lb < ldb*(rb-1)+cb {
		panic(errShortB)
	}
	if lc < ldc*(m-1)+n {
		panic(errShortC)
	}
}

// Panic messages, worded as gonum's so that callers see one vocabulary.
const (
	errBadTrans = "blas: illegal transpose"
	errMLT0     = "blas: m < 0"
	errNLT0     = "blas: n < 0"
	errKLT0     = "blas: k < 0"
	errBadLdA   = "blas: bad leading dimension of A"
	errBadLdB   = "blas: bad leading dimension of B"
	errBadLdC   = "blas: bad leading dimension of C"
	errShortA   = "blas: insufficient length of a"
	errShortB   = "blas: insufficient length of b"
	errShortC   = "blas: insufficient length of c"
)
