package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/stretchr/testify/assert"
)

func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name       string
		rows, cols int
		offset     float64
	}{{"one", 1, 1, 0}, {"odd", 3, 13, 0}, {"vit", 5, 768, 0}, {"offset", 4, 97, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.rows * tc.cols
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64()*3 + tc.offset)
			}
			g, b := randSlice(rng, tc.cols), randSlice(rng, tc.cols)
			want, wantMu, wantSd := make([]float64, n), make([]float64, tc.rows), make([]float64, tc.rows)
			for r := range tc.rows {
				row := x[r*tc.cols : (r+1)*tc.cols]
				var s, ss float64
				for _, v := range row {
					s += float64(v)
				}
				mu := s / float64(tc.cols)
				for _, v := range row {
					ss += (float64(v) - mu) * (float64(v) - mu)
				}
				sd := math.Sqrt(ss/float64(tc.cols) + 1e-5)
				for i, v := range row {
					want[r*tc.cols+i] = (float64(v)-mu)/sd*float64(g[i]) + float64(b[i])
				}
				wantMu[r], wantSd[r] = mu, sd
			}
			got, mu, sd := make([]float32, n), make([]float32, tc.rows), make([]float32, tc.rows)
			LayerNorm(got, x, tc.rows, tc.cols, g, b, 1e-5, mu, sd)
			numtest.Close(t, want, got, 1e-5, 1e-5, "out")
			numtest.Close(t, wantMu, mu, 1e-6, 1e-6, "mean")
			numtest.Close(t, wantSd, sd, 1e-6, 0, "sigma")
			LayerNorm(x, x, tc.rows, tc.cols, g, b, 1e-5, nil, nil) // in place
			numtest.Close(t, want, x, 1e-5, 1e-5, "in place")
		})
	}
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 7, 197, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 10)
			}
			m := math.Inf(-1)
			for _, v := range x {
				m = math.Max(m, float64(v))
			}
			want := make([]float64, n)
			var s float64
			for i, v := range x {
				want[i] = math.Exp(float64(v) - m)
				s += want[i]
			}
			for i := range want {
				want[i] /= s
			}
			Softmax(x)
			numtest.Close(t, want, x, 1e-6, 1e-9)
		})
	}
	x := []float32{float32(math.Inf(-1)), 0, 1}
	Softmax(x)
	assert.Equal(t, float32(0), x[0])
}

func TestQuickGELU(t *testing.T) {
	var x []float32
	sweep(-90, 90, 100_000, func(v float32) { x = append(x, v) })
	want := make([]float64, len(x))
	for i, v := range x {
		// The argument is rounded to float32 as the kernel's is: its
		// rounding error is the input's, not the kernel's.
		want[i] = float64(v) / (1 + math.Exp(float64(-1.702*v)))
	}
	QuickGELU(x)
	numtest.Close(t, want, x, 1e-6, 1e-30)
}

// TestAttention compares AttentionPattern and AttentionApply with a float64
// computation, over odd sizes, causal or not, serial and across heads in
// parallel.
func TestAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		name    string
		T, D, H int
		causal  bool
	}{{"tiny", 1, 4, 2, false}, {"odd", 7, 12, 3, true}, {"vitlike", 50, 96, 6, false}, {"text", 77, 64, 4, true}, {"parallel", 197, 256, 4, false}} {
		t.Run(tc.name, func(t *testing.T) {
			T, D, H := tc.T, tc.D, tc.H
			qkv := randSlice(rng, 3*T*D)
			want, wantZ := refAttention(qkv, T, D, H, tc.causal)
			scores := make([]float32, H*T*T)
			for i := range scores {
				scores[i] = float32(math.NaN())
			}
			AttentionPattern(scores, qkv, T, D, H, tc.causal)
			numtest.Close(t, want, scores, 1e-5, 1e-7, "pattern")
			z := make([]float32, T*D)
			AttentionApply(z, scores, qkv, T, D, H)
			numtest.Close(t, wantZ, z, 1e-5, 1e-6, "z")
		})
	}
}

// TestPackedAttention runs sequences of mixed lengths (an empty one
// included) packed back to back and compares each with the float64
// computation on its own rows, so a token that attends across a sequence
// boundary fails.
func TestPackedAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct {
		name   string
		lens   []int
		D, H   int
		causal bool
	}{{"one", []int{5}, 12, 3, false}, {"text", []int{7, 1, 0, 12, 3}, 64, 4, true}, {"images", []int{50, 50, 50}, 96, 6, false}, {"parallel", []int{77, 20, 77, 5, 60}, 256, 4, true}} {
		t.Run(tc.name, func(t *testing.T) {
			D, H := tc.D, tc.H
			R, S := 0, 0
			for _, T := range tc.lens {
				R, S = R+T, S+T*T
			}
			qkv := randSlice(rng, 3*R*D)
			scores := make([]float32, H*S)
			for i := range scores {
				scores[i] = float32(math.NaN())
			}
			z := make([]float32, R*D+1)
			z[R*D] = 42 // guard
			PackedAttentionPattern(scores, qkv, tc.lens, D, H, tc.causal)
			PackedAttentionApply(z, scores, qkv, tc.lens, D, H)
			r, s := 0, 0
			for b, T := range tc.lens {
				want, wantZ := refAttention(qkv[3*r*D:3*(r+T)*D], T, D, H, tc.causal)
				numtest.Close(t, want, scores[H*s:H*(s+T*T)], 1e-5, 1e-7, fmt.Sprintf("pattern %d", b))
				numtest.Close(t, wantZ, z[r*D:(r+T)*D], 1e-5, 1e-6, fmt.Sprintf("z %d", b))
				r, s = r+T, s+T*T
			}
			assert.Equal(t, float32(42), z[R*D], "write past z")
		})
	}
}

// refAttention is the float64 attention of one sequence, qkv [T, 3D]:
// patterns [H, T, T] and the heads' outputs [T, D].
func refAttention(qkv []float32, T, D, H int, causal bool) (pattern, z []float64) {
	dh := D / H
	want := make([]float64, H*T*T)
	wantZ := make([]float64, T*D)
	for h := range H {
		for q := range T {
			row := want[h*T*T+q*T : h*T*T+(q+1)*T]
			m := math.Inf(-1)
			for k := range T {
				if causal && k > q {
					row[k] = math.Inf(-1)
					continue
				}
				var s float64
				for d := range dh {
					s += float64(qkv[q*3*D+h*dh+d]) * float64(qkv[k*3*D+D+h*dh+d])
				}
				row[k] = s / math.Sqrt(float64(dh))
				m = math.Max(m, row[k])
			}
			var sum float64
			for k := range row {
				row[k] = math.Exp(row[k] - m)
				sum += row[k]
			}
			for k := range row {
				row[k] /= sum
			}
			for d := range dh {
				var s float64
				for k := range T {
					s += row[k] * float64(qkv[k*3*D+2*D+h*dh+d])
				}
				wantZ[q*D+h*dh+d] = s
			}
		}
	}
	return want, wantZ
}
