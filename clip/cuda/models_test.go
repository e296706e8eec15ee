//go:build cuda && cgo

package cuda

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
)

var (
	modelsMu sync.Mutex
	models   = map[string]*clip.Model{}
)

// randomModel builds (once per binary) a model of cfg with random weights.
func randomModel(t testing.TB, name string, cfg clip.Config, seed uint64) *clip.Model {
	t.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if m, ok := models[name]; ok {
		return m
	}
	m, err := clip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.InitRandom(seed)
	randomizeBiases(m, seed)
	models[name] = m
	return m
}

// randomizeBiases gives every bias and LayerNorm parameter of the image
// tower random values (InitRandom leaves them 0 and 1), so that a test sees
// a wrong or missing bias.
func randomizeBiases(m *clip.Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	fill := func(x []float32, mean, std float64) {
		for i := range x {
			x[i] = float32(mean + std*r.NormFloat64())
		}
	}
	v := m.Visual
	for _, ln := range []*clip.LayerNorm{v.LNPre, v.LNPost} {
		fill(ln.W.Data().F32(), 1, 0.1)
		fill(ln.B.Data().F32(), 0, 0.1)
	}
	for _, b := range v.Blocks {
		for _, ln := range []*clip.LayerNorm{b.LN1, b.LN2} {
			fill(ln.W.Data().F32(), 1, 0.1)
			fill(ln.B.Data().F32(), 0, 0.1)
		}
		for _, l := range []*clip.Linear{b.Attn.InProj, b.Attn.OutProj, b.MLP.CFC, b.MLP.CProj} {
			fill(l.B.Data().F32(), 0, 0.05)
		}
	}
}

// randomPixels returns n images [3, S, S] of values in about [-2, 2], the
// range of normalized pixels.
func randomPixels(n, S int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 11))
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, 3*S*S)
		for j := range out[i] {
			out[i][j] = float32(4*r.Float64() - 2)
		}
	}
	return out
}
