package sparse

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScanMatchesReference checks that the assembly scans are bit-identical
// to the reference loops for sizes around the tile and chunk edges.
func TestScanMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{1, 2, 3, 7, 130, 257} {
		for _, d := range []int{1, 3, 4, 5, 8, 9, 16, 17, 35} {
			for _, nt := range []int{1, 4, 5, 8, 11} {
				e32, r32 := make([]float32, m*d), make([]float32, nt*d)
				e64, r64 := make([]float64, m*d), make([]float64, nt*d)
				for i := range e32 {
					e64[i] = rng.NormFloat64()
					e32[i] = float32(e64[i])
				}
				for i := range r32 {
					r64[i] = rng.NormFloat64()
					r32[i] = float32(r64[i])
				}
				ldc := m + 3
				got32, want32 := make([]float32, nt*ldc), make([]float32, nt*ldc)
				got64, want64 := make([]float64, nt*ldc), make([]float64, nt*ldc)
				scan32(got32, ldc, r32, nt, e32, m, d)
				scanRef32(want32, ldc, r32, nt, e32, m, d)
				scan64(got64, ldc, r64, nt, e64, m, d)
				scanRef64(want64, ldc, r64, nt, e64, m, d)
				require.Equal(t, want32, got32, "float32 m=%d d=%d nt=%d", m, d, nt)
				require.Equal(t, want64, got64, "float64 m=%d d=%d nt=%d", m, d, nt)
				// Padding guard: columns past m stay untouched.
				for q := range nt {
					for i := m; i < ldc; i++ {
						require.Zero(t, got32[q*ldc+i])
						require.Zero(t, got64[q*ldc+i])
					}
				}
			}
		}
	}
}

// BenchmarkScan30k times one pass of the correlation scan, dst [64, M] =
// R [64, d]·Eᵀ for E [30000, 512], on one goroutine.
func BenchmarkScan30k(b *testing.B) {
	const m, d, nt = 30000, 512, 64
	rng := rand.New(rand.NewPCG(9, 9))
	b.Run("float32", func(b *testing.B) {
		e, r, dst := make([]float32, m*d), make([]float32, nt*d), make([]float32, nt*m)
		for i := range e {
			e[i] = float32(rng.NormFloat64())
		}
		for i := range r {
			r[i] = float32(rng.NormFloat64())
		}
		for b.Loop() {
			scan32(dst, m, r, nt, e, m, d)
		}
		b.ReportMetric(2*m*d*nt*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("float64", func(b *testing.B) {
		e, r, dst := make([]float64, m*d), make([]float64, nt*d), make([]float64, nt*m)
		for i := range e {
			e[i] = rng.NormFloat64()
		}
		for i := range r {
			r[i] = rng.NormFloat64()
		}
		for b.Loop() {
			scan64(dst, m, r, nt, e, m, d)
		}
		b.ReportMetric(2*m*d*nt*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
