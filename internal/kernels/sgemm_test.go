package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
)

// gemmImpls lists every Sgemm this binary can run: each micro-kernel the CPU
// supports, serial and split over goroutines, and OpenBLAS when present.
func gemmImpls(t *testing.T) map[string]blas.Float32Level3 {
	impls := map[string]blas.Float32Level3{}
	for _, k := range kernelsAvailable() {
		impls[k.name] = Implementation{kernel: k}
		impls[k.name+"/serial"] = Implementation{kernel: k, maxWorkers: 1}
		impls[k.name+"/3workers"] = Implementation{kernel: k, maxWorkers: 3}
	}
	if ob, err := loadOpenBLAS(); err == nil {
		impls["cblas:"+ob.name()] = ob
	} else {
		t.Logf("OpenBLAS not tested: %v", err)
	}
	return impls
}

func TestSgemm(t *testing.T) {
	for name, impl := range gemmImpls(t) {
		t.Run(name, func(t *testing.T) { testSgemm(t, impl) })
	}
}

// guard fills the slots around C and in its stride gaps.
const guard = float32(-12345.5)

type gemmCase struct {
	name    string
	m, n, k int
}

// testSgemm is the Sgemm conformance suite: it compares impl against a
// float64 reference over odd shapes, every transpose, padded strides and
// several alpha, beta, and checks guard values around C.
func testSgemm(t *testing.T, impl blas.Float32Level3) {
	small := []gemmCase{
		{"1x1x1", 1, 1, 1}, {"1xNx1", 1, 37, 1}, {"Nx1xK", 29, 1, 13}, {"1x1xK", 1, 1, 301},
		{"k0", 5, 7, 0}, {"m0", 0, 7, 3}, {"n0", 4, 0, 3},
		{"primes", 13, 17, 19}, {"primes2", 31, 37, 41}, {"tile12x32", 12, 32, 8},
		{"tile6x16", 6, 16, 5}, {"edges", 25, 65, 33}, {"deepK", 7, 9, 600},
	}
	large := []gemmCase{
		{"blockM", 197, 70, 64}, {"blockK+N", 23, 3100, 260}, {"parallel", 101, 131, 300},
		{"parallelM", 301, 20, 257},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	scalars := []struct{ alpha, beta float32 }{{1, 0}, {0.5, -1.5}, {-2, 1}, {0, 0.5}, {0, 0}}
	for _, tc := range small {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, s := range scalars {
					for _, pad := range []int{0, 3} {
						name := fmt.Sprintf("%s/%c%c/a%g_b%g/pad%d", tc.name, tA, tB, s.alpha, s.beta, pad)
						checkGemmCase(t, name, impl, rng, tA, tB, tc.m, tc.n, tc.k, s.alpha, s.beta, pad)
					}
				}
			}
		}
	}
	for _, tc := range large {
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				name := fmt.Sprintf("%s/%c%c", tc.name, tA, tB)
				checkGemmCase(t, name, impl, rng, tA, tB, tc.m, tc.n, tc.k, 0.75, 0, 5)
			}
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func checkGemmCase(t *testing.T, name string, impl blas.Float32Level3, rng *rand.Rand, tA, tB blas.Transpose, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	ra, ca := m, k
	if tA != blas.NoTrans {
		ra, ca = k, m
	}
	rb, cb := k, n
	if tB != blas.NoTrans {
		rb, cb = n, k
	}
	lda, ldb, ldc := max(1, ca+pad), max(1, cb+pad), max(1, n+pad)
	a := randSlice(rng, max(0, (ra-1)*lda+ca))
	b := randSlice(rng, max(0, (rb-1)*ldb+cb))
	at := func(i, p int) float64 {
		if tA != blas.NoTrans {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	bt := func(p, j int) float64 {
		if tB != blas.NoTrans {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	// C lives inside a guarded buffer; the gaps of its stride are guards too.
	const g = 64
	clen := max(0, (m-1)*ldc+n)
	buf := make([]float32, clen+2*g)
	for i := range buf {
		buf[i] = guard
	}
	c := buf[g : g+clen]
	for i := range m {
		for j := range n {
			if beta == 0 {
				c[i*ldc+j] = float32(math.NaN())
			} else {
				c[i*ldc+j] = float32(rng.NormFloat64())
			}
		}
	}
	want := make([]float64, m*n)
	bound := make([]float64, m*n)
	const eps = 1.0 / (1 << 23)
	for i := range m {
		for j := range n {
			var s, sa float64
			for p := range k {
				s += at(i, p) * bt(p, j)
				sa += math.Abs(at(i, p) * bt(p, j))
			}
			w, wa := float64(alpha)*s, math.Abs(float64(alpha))*sa
			if beta != 0 {
				cv := float64(c[i*ldc+j])
				w += float64(beta) * cv
				wa += math.Abs(float64(beta) * cv)
			}
			want[i*n+j] = w
			bound[i*n+j] = 2*float64(k+2)*eps*wa + 1e-30
		}
	}
	impl.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	bad := 0
	for i := range m {
		for j := range n {
			got := float64(c[i*ldc+j])
			if d := math.Abs(got - want[i*n+j]); !(d <= bound[i*n+j]) {
				if bad == 0 {
					t.Errorf("%s: C[%d,%d] = %g, want %g ± %g", name, i, j, got, want[i*n+j], bound[i*n+j])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements out of bounds", name, bad, m*n)
	}
	for i, v := range buf {
		in := i >= g && i < g+clen && (i-g)%ldc < n
		if !in && v != guard {
			t.Errorf("%s: guard at offset %d overwritten with %g", name, i-g, v)
			return
		}
	}
}

// TestMicroKernels runs each micro-kernel alone against the generic one on
// one tile, with guards around the tile's rows.
func TestMicroKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, mk := range kernelsAvailable() {
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 17, 256} {
			t.Run(fmt.Sprintf("%s/kc%d", mk.name, kc), func(t *testing.T) {
				mr, nr, ldc := mk.mr, mk.nr, mk.nr+5
				a, b := randSlice(rng, mr*kc), randSlice(rng, nr*kc)
				c := make([]float32, mr*ldc+8)
				for i := range c {
					c[i] = guard
				}
				for i := range mr {
					for j := range nr {
						c[i*ldc+j] = float32(i - j)
					}
				}
				mk.fn(kc, a, b, c, ldc)
				for i := range mr {
					for j := range ldc {
						got := c[i*ldc+j]
						if j >= nr {
							assert.Equal(t, guard, got, "guard (%d,%d)", i, j)
							continue
						}
						want := float64(i - j)
						var sa float64
						for p := range kc {
							want += float64(a[p*mr+i]) * float64(b[p*nr+j])
							sa += math.Abs(float64(a[p*mr+i]) * float64(b[p*nr+j]))
						}
						require.InDelta(t, want, float64(got), 1e-6*(sa+math.Abs(float64(i-j))+1), "(%d,%d)", i, j)
					}
				}
				for _, v := range c[mr*ldc:] {
					assert.Equal(t, guard, v)
				}
			})
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	impl := Implementation{}
	a := make([]float32, 6)
	tests := []struct {
		name string
		f    func()
		msg  string
	}{
		{"badTrans", func() { impl.Sgemm('x', blas.NoTrans, 1, 1, 1, 1, a, 1, a, 1, 0, a, 1) }, errBadTrans},
		{"mLT0", func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, -1, 1, 1, 1, a, 1, a, 1, 0, a, 1) }, errMLT0},
		{"badLdA", func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }, errBadLdA},
		{"badLdC", func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 2, 3, 1, 1, a, 1, a, 3, 0, a, 2) }, errBadLdC},
		{"shortA", func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 3, 1, 3, 1, a, 3, a, 1, 0, a, 1) }, errShortA},
		{"shortC", func() { impl.Sgemm(blas.NoTrans, blas.NoTrans, 3, 3, 1, 1, a, 1, a, 3, 0, a, 3) }, errShortC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.PanicsWithValue(t, tt.msg, tt.f) })
	}
}

func TestTranspose8(t *testing.T) {
	impls := map[string]func(int, []float32, int, []float32, int){
		"generic": transpose8Generic, "best": transpose8,
	}
	for name, tr := range impls {
		for _, tc := range []struct{ n8, lds, ldd int }{{1, 8, 8}, {1, 9, 12}, {3, 29, 32}, {5, 40, 13}} {
			t.Run(fmt.Sprintf("%s/%d_%d_%d", name, tc.n8, tc.lds, tc.ldd), func(t *testing.T) {
				src := make([]float32, 7*tc.lds+8*tc.n8)
				for i := range src {
					src[i] = float32(i)
				}
				dst := make([]float32, (8*tc.n8-1)*tc.ldd+8+16)
				for i := range dst {
					dst[i] = guard
				}
				tr(tc.n8, src, tc.lds, dst, tc.ldd)
				for i, got := range dst {
					row, col := i/tc.ldd, i%tc.ldd
					want := guard
					if row < 8*tc.n8 && col < 8 {
						want = src[col*tc.lds+row]
					}
					if got != want {
						t.Fatalf("dst[%d] (row %d, col %d) = %g, want %g", i, row, col, got, want)
					}
				}
			})
		}
	}
}
