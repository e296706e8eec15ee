package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// vitShapes are the three products of a ViT-B/16 block as Linear calls
// them: x [m, k] times Wᵀ with W [n, k].
var vitShapes = []struct {
	name    string
	m, n, k int
}{
	{"B16_fc", 197, 3072, 768},
	{"B16_proj", 197, 768, 768},
	{"B16_cproj", 197, 768, 3072},
}

// benchImpls are the Sgemm implementations the benchmarks compare.
func benchImpls(b *testing.B) []struct {
	name string
	impl blas.Float32Level3
} {
	impls := []struct {
		name string
		impl blas.Float32Level3
	}{{"ours", Implementation{}}}
	for _, k := range kernelsAvailable()[1:] {
		impls = append(impls, struct {
			name string
			impl blas.Float32Level3
		}{"ours_" + k.name, Implementation{kernel: k}})
	}
	impls = append(impls, struct {
		name string
		impl blas.Float32Level3
	}{"gonum", gonum.Implementation{}})
	if ob, err := loadOpenBLAS(); err == nil {
		impls = append(impls, struct {
			name string
			impl blas.Float32Level3
		}{"openblas", ob})
	}
	return impls
}

func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range vitShapes {
		x, w := randSlice(rng, s.m*s.k), randSlice(rng, s.n*s.k)
		c := make([]float32, s.m*s.n)
		for _, im := range benchImpls(b) {
			b.Run(fmt.Sprintf("%s/%s", s.name, im.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					im.impl.Sgemm(blas.NoTrans, blas.Trans, s.m, s.n, s.k, 1, x, s.k, w, s.k, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkRowOps times the row-wise kernels on one ViT-B/16 block's sizes
// (T = 197, D = 768, N = 3072, H = 12), in elements per second.
func BenchmarkRowOps(b *testing.B) {
	const T, D, N, H = 197, 768, 3072, 12
	rng := rand.New(rand.NewPCG(7, 8))
	x, hidden := randSlice(rng, T*D), randSlice(rng, T*N)
	g, be := randSlice(rng, D), randSlice(rng, D)
	dst := make([]float32, T*D)
	scores := randSlice(rng, H*T*T)
	work := make([]float32, len(hidden))
	cases := []struct {
		name string
		n    int
		f    func()
	}{
		{"LayerNorm", T * D, func() { LayerNorm(dst, x, T, D, g, be, 1e-5, nil, nil) }},
		{"Softmax", H * T * T, func() {
			for r := range H * T {
				Softmax(scores[r*T : (r+1)*T])
			}
		}},
		{"GELU", T * N, func() { copy(work, hidden); GELU(work) }},
		{"QuickGELU", T * N, func() { copy(work, hidden); QuickGELU(work) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(float64(c.n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Melem/s")
		})
	}
}

// BenchmarkAttention times the pattern and the weighted sum of one ViT-B/16
// block (T = 197, D = 768, H = 12).
func BenchmarkAttention(b *testing.B) {
	const T, D, H = 197, 768, 12
	rng := rand.New(rand.NewPCG(9, 10))
	qkv := randSlice(rng, 3*T*D)
	scores, z := make([]float32, H*T*T), make([]float32, T*D)
	b.ReportAllocs()
	for b.Loop() {
		AttentionPattern(scores, qkv, T, D, H, false)
		AttentionApply(z, scores, qkv, T, D, H)
	}
	b.ReportMetric(4*float64(H*T*T*(D/H))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
