package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Linear computes dst = x·Wᵀ + b for x [rows, in], W [out, in] and b [out]
// (nil for no bias), writing dst [rows, out]. All are row-major and dense.
//
//	dst[r*out+o] = b[o] + Σ_i x[r*in+i]·W[o*in+i]
func Linear(dst, x []float32, rows, in int, w, b []float32, out int) {
	if len(x) < rows*in || len(w) < out*in || len(dst) < rows*out || (b != nil && len(b) < out) {
		panic("kernels: Linear: slice too short")
	}
	if rows == 0 || out == 0 {
		return
	}
	beta := float32(0)
	if b != nil {
		for r := 0; r < rows; r++ {
			copy(dst[r*out:(r+1)*out], b[:out])
		}
		beta = 1
	}
	blas32.Gemm(blas.NoTrans, blas.Trans, 1,
		blas32.General{Rows: rows, Cols: in, Stride: in, Data: x},
		blas32.General{Rows: out, Cols: in, Stride: in, Data: w},
		beta,
		blas32.General{Rows: rows, Cols: out, Stride: out, Data: dst})
}

// Matrix is a row-major view of float32 data, the shape of blas32.General:
// element (i, j) is Data[i*Stride+j].
type Matrix = blas32.General

// Gemm computes C = alpha·op(A)·op(B) + beta·C through blas32, where op
// transposes when the flag is set.
func Gemm(transA, transB bool, alpha float32, a, b Matrix, beta float32, c Matrix) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	blas32.Gemm(ta, tb, alpha, a, b, beta, c)
}
