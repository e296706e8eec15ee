package clip

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/optimizers/sgd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newRandomModel(t testing.TB, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := New(cfg)
	require.NoError(t, err)
	m.InitRandom(seed)
	return m
}

// randomImages returns n images [3, S, S] of standard normal values.
func randomImages(r *rand.Rand, n, S int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, 3*S*S)
		for j := range out[i] {
			out[i][j] = float32(r.NormFloat64())
		}
	}
	return out
}

func pixelTensors(pix [][]float32) []mat.Tensor {
	out := make([]mat.Tensor, len(pix))
	for i, p := range pix {
		out[i] = mat.NewDense[float32](mat.WithShape(len(p)), mat.WithBacking(p))
	}
	return out
}

func lossValue(t mat.Tensor) float64 { return float64(tensorData(t)[0]) }

func TestForwardMatchesFastPath(t *testing.T) {
	for _, act := range []Activation{QuickGELU, GELU} {
		t.Run(act.String(), func(t *testing.T) {
			cfg := Config{
				EmbedDim:   16,
				Activation: act,
				Vision:     &VisionConfig{ImageSize: 16, PatchSize: 4, Width: 32, Layers: 2, Heads: 4, MLPWidth: 64},
				Text:       &TextConfig{ContextLength: 8, VocabSize: 50, Width: 24, Layers: 2, Heads: 3, MLPWidth: 48},
			}
			m := newRandomModel(t, cfg, 1)
			pix := randomImages(rand.New(rand.NewPCG(2, 3)), 3, 16)
			imgs := m.ForwardImages(pixelTensors(pix))
			require.Len(t, imgs, len(pix))
			for i, p := range pix {
				want, err := m.EncodePixels(p)
				require.NoError(t, err)
				require.Equal(t, []int{16, 1}, imgs[i].Shape())
				numtest.Close(t, want, tensorData(imgs[i]), 1e-5, 1e-5*numtest.Norm(want), fmt.Sprintf("image %d", i))
			}
			ids := [][]int{
				{48, 5, 17, 49, 0, 0, 0, 0}, // EOT in the middle, padded
				{48, 3, 4, 5, 6, 7, 8, 49},  // full context
				{48, 12, 49, 30, 31},        // ids after the EOT are ignored
				{49},                        // EOT alone
			}
			txts := m.ForwardTokens(ids)
			require.Len(t, txts, len(ids))
			for i, seq := range ids {
				want, err := m.EncodeTokens(seq)
				require.NoError(t, err)
				numtest.Close(t, want, tensorData(txts[i]), 1e-5, 1e-5*numtest.Norm(want), fmt.Sprintf("text %d", i))
			}
		})
	}
}

func TestForwardPanicsOnBadInput(t *testing.T) {
	cfg := gradCheckConfig(QuickGELU)
	m := newRandomModel(t, cfg, 1)
	assert.Panics(t, func() { m.ForwardImages(pixelTensors([][]float32{make([]float32, 5)})) })
	assert.Panics(t, func() { m.ForwardTokens([][]int{{1, 2, 3, 4, 5, 6}}) }, "longer than the context")
	assert.Panics(t, func() { m.ForwardTokens([][]int{{1, 20}}) }, "outside the vocabulary")
	assert.Panics(t, func() { m.ForwardTokens([][]int{{}}) })
	one := m.ForwardImages(pixelTensors(randomImages(rand.New(rand.NewPCG(1, 1)), 1, 8)))
	assert.Panics(t, func() { ContrastiveLoss(one, nil, m.LogitScale) })
}

func TestContrastiveLossClosedForm(t *testing.T) {
	// Orthogonal pairs, images scaled by 3 (normalization removes it), s = 0:
	// L = I, each cross-entropy is log(1 + e⁻¹) in both directions.
	vec := func(v ...float32) mat.Tensor { return mat.NewDense[float32](mat.WithShape(len(v)), mat.WithBacking(v)) }
	img := []mat.Tensor{vec(3, 0, 0), vec(0, 3, 0)}
	txt := []mat.Tensor{vec(1, 0, 0), vec(0, 1, 0)}
	loss := ContrastiveLoss(img, txt, mat.Scalar[float32](0))
	assert.InDelta(t, math.Log(1+math.Exp(-1)), lossValue(loss), 1e-7)

	// Three pairs at angle: row i has logits e^s·cos; check against a direct sum.
	s := 0.7
	u := [][]float64{{1, 0}, {0.6, 0.8}, {-0.8, 0.6}}
	v := [][]float64{{0.8, 0.6}, {0, 1}, {-1, 0}}
	var want float64
	L := func(i, j int) float64 { return math.Exp(s) * (u[i][0]*v[j][0] + u[i][1]*v[j][1]) }
	for i := range 3 {
		var r, c float64
		for j := range 3 {
			r += math.Exp(L(i, j))
			c += math.Exp(L(j, i))
		}
		want += (math.Log(r) - L(i, i) + math.Log(c) - L(i, i)) / 6
	}
	img, txt = nil, nil
	for i := range 3 {
		img = append(img, vec(float32(2*u[i][0]), float32(2*u[i][1])))
		txt = append(txt, vec(float32(v[i][0]), float32(v[i][1])))
	}
	assert.InDelta(t, want, lossValue(ContrastiveLoss(img, txt, mat.Scalar(float32(s)))), 1e-6)
}

func TestContrastiveLossGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const B, d = 4, 5
	leaf := func() *mat.Dense[float32] {
		x := make([]float32, d)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return mat.NewDense[float32](mat.WithShape(d), mat.WithBacking(x), mat.WithGrad(true))
	}
	var img, txt []mat.Tensor
	var leaves []*mat.Dense[float32]
	for range B {
		a, b := leaf(), leaf()
		img, txt = append(img, a), append(txt, b)
		leaves = append(leaves, a, b)
	}
	scale := mat.NewDense[float32](mat.WithShape(1), mat.WithBacking([]float32{1.2}), mat.WithGrad(true))
	leaves = append(leaves, scale)
	loss := ContrastiveLoss(img, txt, scale)
	require.NoError(t, ag.Backward(loss))
	f := func() float64 { return lossValue(ContrastiveLoss(img, txt, scale)) }
	for li, x := range leaves {
		got := tensorData(x.Grad())
		want := make([]float64, len(got))
		for k := range want {
			want[k] = centralDifference(tensorData(x), k, 1e-2, f)
		}
		numtest.Close(t, want, got, 1e-3, 1e-5, fmt.Sprintf("leaf %d", li))
	}
}

// centralDifference returns (f(x+h) - f(x-h))/(x₊ - x₋) for element k of x,
// with the steps x₊, x₋ as float32 actually stores them, and restores x[k].
func centralDifference(x []float32, k int, h float64, f func() float64) float64 {
	old := x[k]
	x[k] = float32(float64(old) + h)
	hi, fp := float64(x[k]), f()
	x[k] = float32(float64(old) - h)
	lo, fm := float64(x[k]), f()
	x[k] = old
	return (fp - fm) / (hi - lo)
}

// richardson extrapolates central differences with steps h and 2h,
// (4·D(h) - D(2h))/3, cancelling the O(h²) error term.
func richardson(x []float32, k int, h float64, f func() float64) float64 {
	return (4*centralDifference(x, k, h, f) - centralDifference(x, k, 2*h, f)) / 3
}

// gradCheckConfig is a model small enough for finite differences.
func gradCheckConfig(act Activation) Config {
	return Config{
		EmbedDim:   4,
		Activation: act,
		Vision:     &VisionConfig{ImageSize: 8, PatchSize: 4, Width: 8, Layers: 2, Heads: 2, MLPWidth: 16},
		Text:       &TextConfig{ContextLength: 5, VocabSize: 20, Width: 8, Layers: 2, Heads: 2, MLPWidth: 16},
	}
}

// namedParams lists every parameter of m with its checkpoint-style name.
func namedParams(m *Model) []struct {
	name string
	p    *nn.Param
} {
	var out []struct {
		name string
		p    *nn.Param
	}
	add := func(name string, p *nn.Param) {
		out = append(out, struct {
			name string
			p    *nn.Param
		}{name, p})
	}
	blocks := func(pre string, bs []*Block) {
		for l, b := range bs {
			n := fmt.Sprintf("%s%d.", pre, l)
			add(n+"ln_1.weight", b.LN1.W)
			add(n+"ln_1.bias", b.LN1.B)
			add(n+"attn.in_proj_weight", b.Attn.InProj.W)
			add(n+"attn.in_proj_bias", b.Attn.InProj.B)
			add(n+"attn.out_proj.weight", b.Attn.OutProj.W)
			add(n+"attn.out_proj.bias", b.Attn.OutProj.B)
			add(n+"ln_2.weight", b.LN2.W)
			add(n+"ln_2.bias", b.LN2.B)
			add(n+"mlp.c_fc.weight", b.MLP.CFC.W)
			add(n+"mlp.c_fc.bias", b.MLP.CFC.B)
			add(n+"mlp.c_proj.weight", b.MLP.CProj.W)
			add(n+"mlp.c_proj.bias", b.MLP.CProj.B)
		}
	}
	v, tt := m.Visual, m.Text
	add("visual.conv1.weight", v.Conv1)
	add("visual.class_embedding", v.ClassEmbedding)
	add("visual.positional_embedding", v.PositionalEmbedding)
	add("visual.ln_pre.weight", v.LNPre.W)
	add("visual.ln_pre.bias", v.LNPre.B)
	blocks("visual.transformer.resblocks.", v.Blocks)
	add("visual.ln_post.weight", v.LNPost.W)
	add("visual.ln_post.bias", v.LNPost.B)
	add("visual.proj", v.Proj)
	add("token_embedding.weight", tt.TokenEmbedding)
	add("positional_embedding", tt.PositionalEmbedding)
	blocks("transformer.resblocks.", tt.Blocks)
	add("ln_final.weight", tt.LNFinal.W)
	add("ln_final.bias", tt.LNFinal.B)
	add("text_projection", tt.TextProjection)
	add("logit_scale", m.LogitScale)
	return out
}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, act := range []Activation{QuickGELU, GELU} {
		t.Run(act.String(), func(t *testing.T) {
			cfg := gradCheckConfig(act)
			m := newRandomModel(t, cfg, 11)
			r := rand.New(rand.NewPCG(5, 6))
			// Nonzero biases and LayerNorm shifts, so that no gradient is
			// checked only at a special point.
			for _, np := range namedParams(m) {
				if np.p.Size() <= cfg.Vision.MLPWidth && np.name != "logit_scale" {
					for i, x := range values(np.p) {
						values(np.p)[i] = x + float32(0.1*r.NormFloat64())
					}
				}
			}
			pix := pixelTensors(randomImages(r, 3, cfg.Vision.ImageSize))
			pix[0].(*mat.Dense[float32]).SetRequiresGrad(true)
			ids := [][]int{{18, 3, 19, 0, 0}, {18, 7, 7, 2, 19}, {18, 19}} // token 19 is EOT; 18 SOT
			loss := func() mat.Tensor {
				return ContrastiveLoss(m.ForwardImages(pix), m.ForwardTokens(ids), m.LogitScale)
			}
			f := func() float64 { return lossValue(loss()) }

			m.SetRequiresGrad(true)
			require.NoError(t, ag.Backward(loss()))

			var rel []float64
			check := func(name string, x []float32, grad mat.Tensor, idx []int) {
				require.NotNil(t, grad, name)
				g := tensorData(grad)
				require.Len(t, g, len(x), name)
				// The step is a few percent of the parameter's typical size
				// (text embeddings are ~0.02, LayerNorm scales ~1), and
				// Richardson extrapolation keeps the truncation error
				// O(h⁴). The float32 forward makes the loss noisy by ~1e-6,
				// so the quotient carries noise ~1e-6/h.
				h := max(3e-2*numtest.Norm(x)/math.Sqrt(float64(len(x))), 3e-3)
				atol := 3e-6 / h
				for _, k := range idx {
					fd := richardson(x, k, h, f)
					bp := float64(g[k])
					err := math.Abs(fd - bp)
					assert.LessOrEqual(t, err, 1e-2*math.Abs(bp)+atol, "%s[%d]: backprop %g, finite difference %g (step %g)", name, k, bp, fd, h)
					if math.Abs(bp) > 1e-3 {
						rel = append(rel, err/math.Abs(bp))
					}
				}
			}
			// pick returns the allowed index with the largest gradient and up to
			// n random others.
			pick := func(g []float32, n int, allowed func(k int) bool) []int {
				best := -1
				for k := range g {
					if allowed(k) && (best < 0 || math.Abs(float64(g[k])) > math.Abs(float64(g[best]))) {
						best = k
					}
				}
				idx := []int{best}
				for range 20 * n {
					if k := r.IntN(len(g)); len(idx) <= n && allowed(k) && !slices.Contains(idx, k) {
						idx = append(idx, k)
					}
				}
				return idx
			}
			all := func(int) bool { return true }
			W := cfg.Text.Width
			for _, np := range namedParams(m) {
				allowed := all
				switch np.name {
				case "token_embedding.weight":
					allowed = func(k int) bool { return slices.Contains([]int{2, 3, 7, 18, 19}, k/W) }
				case "positional_embedding":
					allowed = func(k int) bool { return k/W < 5 }
				}
				g := np.p.Grad()
				require.NotNil(t, g, np.name)
				check(np.name, values(np.p), g, pick(tensorData(g), 4, allowed))
			}
			// Token rows no sequence uses get no gradient.
			tok := tensorData(m.Text.TokenEmbedding.Grad())
			assert.Equal(t, make([]float32, W), tok[5*W:6*W])
			// The pixels of the image that asked for a gradient.
			pg := pix[0].Grad()
			check("pixels[0]", tensorData(pix[0]), pg, pick(tensorData(pg), 8, all))
			assert.Nil(t, pix[1].Grad(), "pixels without RequiresGrad get no gradient")

			sort.Float64s(rel)
			require.NotEmpty(t, rel)
			median := rel[len(rel)/2]
			t.Logf("%d elements checked; relative error median %.2g, max %.2g", len(rel), median, rel[len(rel)-1])
			assert.Less(t, median, 1e-3, "most elements agree much better than the bound")
		})
	}
}

func TestSetRequiresGradFalseLeavesNoGradients(t *testing.T) {
	m := newRandomModel(t, gradCheckConfig(QuickGELU), 3)
	m.SetRequiresGrad(true)
	m.SetRequiresGrad(false)
	pix := pixelTensors(randomImages(rand.New(rand.NewPCG(1, 2)), 2, 8))
	loss := ContrastiveLoss(m.ForwardImages(pix), m.ForwardTokens([][]int{{18, 19}, {18, 4, 19}}), m.LogitScale)
	require.NoError(t, ag.Backward(loss))
	nn.ForEachParam(m, func(p *nn.Param) { assert.False(t, p.HasGrad()) })
}

func TestTrainingLowersContrastiveLoss(t *testing.T) {
	cfg := gradCheckConfig(QuickGELU)
	cfg.Vision.Width, cfg.Text.Width, cfg.EmbedDim = 16, 16, 8
	m := newRandomModel(t, cfg, 21)
	m.SetRequiresGrad(true)
	pix := pixelTensors(randomImages(rand.New(rand.NewPCG(8, 9)), 4, 8))
	ids := [][]int{{18, 1, 19}, {18, 2, 3, 19}, {18, 4, 19}, {18, 5, 6, 7, 19}}
	// Plain SGD needs a small rate: the text embeddings (σ = 0.02) feed a
	// LayerNorm directly, so their gradients are ~50 times the others.
	// The strategy is called per parameter: spago v1.1.0's
	// optimizers.Optimizer.Optimize returns before its goroutines finish.
	opt := sgd.New[float32](sgd.NewConfig(2e-5, 0, false))
	var losses []float64
	for range 6 {
		loss := ContrastiveLoss(m.ForwardImages(pix), m.ForwardTokens(ids), m.LogitScale)
		losses = append(losses, lossValue(loss))
		require.NoError(t, ag.Backward(loss))
		nn.ForEachParam(m, func(p *nn.Param) {
			if p.HasGrad() {
				require.NoError(t, opt.OptimizeParams(p))
			}
		})
	}
	t.Logf("losses %.4f", losses)
	for i := 1; i < len(losses); i++ {
		assert.Less(t, losses[i], losses[i-1], "step %d", i)
	}
	assert.Less(t, losses[len(losses)-1], 0.9*losses[0])
	nn.ForEachParam(m, func(p *nn.Param) { assert.False(t, p.HasGrad(), "the optimizer clears gradients") })
}

// BenchmarkForwardBackward times one training step (both forwards, the
// contrastive loss and the backward pass) on a small model: 8 images 64×64
// (patch 8, width 128, 6 blocks, 4 heads) and 8 texts of 24 tokens.
func BenchmarkForwardBackward(b *testing.B) {
	cfg := Config{
		EmbedDim:   128,
		Activation: QuickGELU,
		Vision:     &VisionConfig{ImageSize: 64, PatchSize: 8, Width: 128, Layers: 6, Heads: 4, MLPWidth: 512},
		Text:       &TextConfig{ContextLength: 24, VocabSize: 1000, Width: 128, Layers: 6, Heads: 4, MLPWidth: 512},
	}
	m := newRandomModel(b, cfg, 1)
	m.SetRequiresGrad(true)
	r := rand.New(rand.NewPCG(1, 2))
	pix := pixelTensors(randomImages(r, 8, 64))
	ids := make([][]int, 8)
	for i := range ids {
		ids[i] = make([]int, 24)
		ids[i][0] = 998
		for j := 1; j < 23; j++ {
			ids[i][j] = r.IntN(998)
		}
		ids[i][23] = 999 // EOT last: every text runs the whole context
	}
	b.ReportAllocs()
	for b.Loop() {
		nn.ZeroGrad(m)
		loss := ContrastiveLoss(m.ForwardImages(pix), m.ForwardTokens(ids), m.LogitScale)
		if err := ag.Backward(loss); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
}
