package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// classLossRef is classLoss in plain float64, for finite differences.
func classLossRef(img, cls [][]float64, labels []int, s float64) float64 {
	unit := func(x []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		u := make([]float64, len(x))
		for k, v := range x {
			u[k] = v / math.Sqrt(ss)
		}
		return u
	}
	var loss float64
	for i, x := range img {
		u := unit(x)
		var z []float64
		for _, c := range cls {
			z = append(z, math.Exp(s)*dot(u, unit(c)))
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(v)
		}
		loss += math.Log(sum) - z[labels[i]]
	}
	return loss / float64(len(img))
}

func TestClassLossGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const B, C, d = 5, 3, 4
	rnd := func(n int) [][]float64 {
		out := make([][]float64, n)
		for i := range out {
			out[i] = make([]float64, d)
			for k := range out[i] {
				out[i][k] = float64(float32(r.NormFloat64()))
			}
		}
		return out
	}
	img, cls := rnd(B), rnd(C)
	labels := []int{0, 2, 1, 1, 0}
	s := 1.3
	node := func(x []float64) mat.Tensor {
		v := make([]float32, len(x))
		for k, a := range x {
			v[k] = float32(a)
		}
		return mat.NewDense[float32](mat.WithShape(len(v), 1), mat.WithBacking(v), mat.WithGrad(true))
	}
	var in, cn []mat.Tensor
	for _, x := range img {
		in = append(in, node(x))
	}
	for _, x := range cls {
		cn = append(cn, node(x))
	}
	sn := mat.NewDense[float32](mat.WithShape(), mat.WithBacking([]float32{float32(s)}), mat.WithGrad(true))
	loss := classLoss(in, cn, labels, sn)
	assert.InDelta(t, classLossRef(img, cls, labels, s), float64(mat.Data[float32](loss.Value())[0]), 1e-5)
	require.NoError(t, ag.Backward(loss))
	const h = 1e-6
	check := func(name string, xs [][]float64, nodes []mat.Tensor) {
		for i := range xs {
			g := mat.Data[float32](nodes[i].Grad())
			for k := range xs[i] {
				old := xs[i][k]
				xs[i][k] = old + h
				up := classLossRef(img, cls, labels, s)
				xs[i][k] = old - h
				down := classLossRef(img, cls, labels, s)
				xs[i][k] = old
				assert.InDelta(t, (up-down)/(2*h), float64(g[k]), 1e-5, "%s %d[%d]", name, i, k)
			}
		}
	}
	check("image", img, in)
	check("class", cls, cn)
	want := (classLossRef(img, cls, labels, s+h) - classLossRef(img, cls, labels, s-h)) / (2 * h)
	assert.InDelta(t, want, float64(mat.Data[float32](sn.Grad())[0]), 1e-5, "scale")
	assert.Panics(t, func() { classLoss(in, cn, []int{0, 1, 2, 3, 0}, sn) })
}
