package cuda

// RowMajor describes the product C = alpha·op(A)·op(B) + beta·C on row-major
// matrices, the layout of every buffer in neuronlens: C is [M, N], op(A) is
// [M, K], op(B) is [K, N], and Lda, Ldb, Ldc are the row strides (in
// elements) of A, B and C as stored.
type RowMajor struct {
	TransA, TransB bool
	M, N, K        int
	Lda, Ldb, Ldc  int
}

// ColMajor is a cuBLAS (column-major) sgemm call: C = alpha·op(A)·op(B) +
// beta·C with C m×n, leading dimensions lda, ldb, ldc. SwapAB says that
// cuBLAS's A operand is the caller's B and its B the caller's A.
type ColMajor struct {
	TransA, TransB bool
	M, N, K        int
	Lda, Ldb, Ldc  int
	SwapAB         bool
}

// ColMajor maps a row-major product onto cuBLAS. A row-major [r, c] matrix
// with row stride ld is, read column-major, its transpose [c, r] with leading
// dimension ld. So row-major C = op(A)·op(B) is column-major
//
//	Cᵀ = op(B)ᵀ·op(A)ᵀ
//
// which is sgemm(opB, opA, N, M, K, B, ldb, A, lda, C, ldc): the operands
// swap, the flags stay with their matrices, and m, n swap.
func (g RowMajor) ColMajor() ColMajor {
	return ColMajor{
		TransA: g.TransB, TransB: g.TransA,
		M: g.N, N: g.M, K: g.K,
		Lda: g.Ldb, Ldb: g.Lda, Ldc: g.Ldc,
		SwapAB: true,
	}
}

// Check panics when the strides cannot hold the shapes: each stored row must
// be at least as long as the matrix it holds.
func (g RowMajor) Check() {
	colsA, colsB := g.K, g.N
	if g.TransA {
		colsA = g.M
	}
	if g.TransB {
		colsB = g.K
	}
	if g.M < 0 || g.N < 0 || g.K < 0 || g.Lda < max(1, colsA) || g.Ldb < max(1, colsB) || g.Ldc < max(1, g.N) {
		panic("cuda: gemm: bad shape or stride")
	}
}
