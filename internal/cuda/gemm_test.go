package cuda

import (
	"math/rand/v2"
	"testing"

	"github.com/neuronlens/neuronlens/internal/kernels"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

// sgemmColMajor is the reference BLAS sgemm, column-major, written from the
// definition: element (i, j) of an m×n matrix with leading dimension ld is
// at i + j*ld.
func sgemmColMajor(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	at := func(i, l int) float32 { // op(A)(i, l)
		if transA {
			return a[l+i*lda]
		}
		return a[i+l*lda]
	}
	bt := func(l, j int) float32 { // op(B)(l, j)
		if transB {
			return b[j+l*ldb]
		}
		return b[l+j*ldb]
	}
	for j := range n {
		for i := range m {
			var s float32
			for l := range k {
				s += at(i, l) * bt(l, j)
			}
			c[i+j*ldc] = alpha*s + beta*c[i+j*ldc]
		}
	}
}

func TestRowMajorColMajorMapping(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	for _, tc := range []struct {
		name           string
		transA, transB bool
		m, n, k, pad   int
	}{
		{name: "NN", m: 5, n: 7, k: 3},
		{name: "NT linear", transB: true, m: 6, n: 4, k: 9},
		{name: "TN alphas", transA: true, m: 8, n: 3, k: 5},
		{name: "TT", transA: true, transB: true, m: 2, n: 5, k: 4},
		{name: "NT padded strides", transB: true, m: 4, n: 4, k: 6, pad: 3},
		{name: "NN padded strides", m: 3, n: 2, k: 7, pad: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ar, ac := tc.m, tc.k
			if tc.transA {
				ar, ac = ac, ar
			}
			br, bc := tc.k, tc.n
			if tc.transB {
				br, bc = bc, br
			}
			g := RowMajor{TransA: tc.transA, TransB: tc.transB, M: tc.m, N: tc.n, K: tc.k,
				Lda: ac + tc.pad, Ldb: bc + tc.pad, Ldc: tc.n + tc.pad}
			g.Check()
			a, b := fill(ar*g.Lda), fill(br*g.Ldb)
			c0 := fill(tc.m * g.Ldc)
			want := append([]float32(nil), c0...)
			kernels.Gemm(tc.transA, tc.transB, 1.5,
				kernels.Matrix{Rows: ar, Cols: ac, Stride: g.Lda, Data: a},
				kernels.Matrix{Rows: br, Cols: bc, Stride: g.Ldb, Data: b},
				0.5, kernels.Matrix{Rows: tc.m, Cols: tc.n, Stride: g.Ldc, Data: want})

			cm := g.ColMajor()
			got := append([]float32(nil), c0...)
			x, y := a, b
			if cm.SwapAB {
				x, y = b, a
			}
			sgemmColMajor(cm.TransA, cm.TransB, cm.M, cm.N, cm.K, 1.5, x, cm.Lda, y, cm.Ldb, 0.5, got, cm.Ldc)
			numtest.Close(t, want, got, 1e-5, 1e-5)
		})
	}
}

func TestRowMajorCheckPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Check accepted a stride shorter than a row")
		}
	}()
	RowMajor{M: 2, N: 3, K: 4, Lda: 3, Ldb: 3, Ldc: 3}.Check()
}

func TestCandidates(t *testing.T) {
	c := Candidates(BLAS, "/a::/b")
	if c[0] != "/a/libcublas.so.12" || c[len(LibraryNames(BLAS))] != "/b/libcublas.so.12" {
		t.Fatalf("env directories not first: %v", c[:5])
	}
	if c[2*len(LibraryNames(BLAS))] != "libcublas.so.12" {
		t.Fatalf("bare names not after env directories: %v", c)
	}
}
