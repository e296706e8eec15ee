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
