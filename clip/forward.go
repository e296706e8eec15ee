package clip

import (
	"github.com/neuronlens/neuronlens/internal/kernels"
)

// scratch holds every buffer one forward pass of a tower needs, sized once
// for the tower's longest sequence and reused across calls.
type scratch struct {
	x      []float32 // [T, D] residual stream
	h      []float32 // [T, D] LayerNorm output, then the heads' concatenation
	qkv    []float32 // [T, 3D]
	out    []float32 // [T, D] attention or MLP output
	scores []float32 // [H, T, T]
	hidden []float32 // [T, N]
	mean   []float32 // [T]
	sigma  []float32 // [T]
	in     []float32 // tower input: patches [P, 3p²] or unused
	final  []float32 // [D] pooled token after the final LayerNorm
	stat   [2]float32
}

func newScratch(T, D, H, N, in int) *scratch {
	return &scratch{
		x: make([]float32, T*D), h: make([]float32, T*D), qkv: make([]float32, 3*T*D),
		out: make([]float32, T*D), scores: make([]float32, H*T*T), hidden: make([]float32, T*N),
		mean: make([]float32, T), sigma: make([]float32, T), in: make([]float32, in),
		final: make([]float32, D),
	}
}

// blockForward runs block b of a tower on s.x [T, D] in place:
//
//	x = x + OutProj(softmax(QKᵀ/√dh [+ causal mask])·V)   with Q, K, V from InProj(LN1(x))
//	x = x + CProj(act(CFC(LN2(x))))
//
// firing the hooks of layer as it goes.
func blockForward(b *Block, layer, T int, causal bool, act Activation, s *scratch, hk *hookTable) {
	D := len(values(b.LN1.W))
	H := b.Attn.Heads
	N := len(values(b.MLP.CFC.B))
	x := s.x[:T*D]

	hk.fire(layer, ResidPre, x, T, D)
	kernels.LayerNorm(s.h, x, T, D, values(b.LN1.W), values(b.LN1.B), layerNormEps, s.mean, s.sigma)
	hk.fire(layer, LN1Mean, s.mean, T, 1)
	hk.fire(layer, LN1Scale, s.sigma, T, 1)

	qkv := s.qkv[:T*3*D]
	kernels.Linear(qkv, s.h, T, D, values(b.Attn.InProj.W), values(b.Attn.InProj.B), 3*D)
	kernels.AttentionPattern(s.scores, qkv, T, D, H, causal)
	hk.fire(layer, AttnPattern, s.scores, H*T, T)
	z := s.h[:T*D]
	kernels.AttentionApply(z, s.scores, qkv, T, D, H)
	out := s.out[:T*D]
	kernels.Linear(out, z, T, D, values(b.Attn.OutProj.W), values(b.Attn.OutProj.B), D)
	hk.fire(layer, AttnOut, out, T, D)
	kernels.Add(x, out)
	hk.fire(layer, ResidMid, x, T, D)

	kernels.LayerNorm(s.h, x, T, D, values(b.LN2.W), values(b.LN2.B), layerNormEps, nil, nil)
	hidden := s.hidden[:T*N]
	kernels.Linear(hidden, s.h, T, D, values(b.MLP.CFC.W), values(b.MLP.CFC.B), N)
	hk.fire(layer, MLPPre, hidden, T, N)
	switch act {
	case GELU:
		kernels.GELU(hidden)
	default:
		kernels.QuickGELU(hidden)
	}
	hk.fire(layer, MLPPost, hidden, T, N)
	kernels.Linear(out, hidden, T, N, values(b.MLP.CProj.W), values(b.MLP.CProj.B), D)
	hk.fire(layer, MLPOut, out, T, D)
	kernels.Add(x, out)
	hk.fire(layer, ResidPost, x, T, D)
}

// pool applies the final LayerNorm to token t of s.x [·, D] and projects it
// with proj [D, d] into dst [d], firing the final-LayerNorm hooks.
func pool(dst []float32, s *scratch, t, D int, ln *LayerNorm, proj []float32, hk *hookTable) {
	kernels.LayerNorm(s.final, s.x[t*D:(t+1)*D], 1, D, values(ln.W), values(ln.B), layerNormEps, s.stat[0:1], s.stat[1:2])
	hk.fire(0, LNPostMean, s.stat[0:1], 1, 1)
	hk.fire(0, LNPostScale, s.stat[1:2], 1, 1)
	d := len(dst)
	kernels.Gemm(false, false, 1,
		kernels.Matrix{Rows: 1, Cols: D, Stride: D, Data: s.final},
		kernels.Matrix{Rows: D, Cols: d, Stride: d, Data: proj},
		0, kernels.Matrix{Rows: 1, Cols: d, Stride: d, Data: dst})
}
