package clip

import (
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// Linear is an affine map y = x·Wᵀ + b with W [out, in] and B [out], the
// layout of PyTorch's nn.Linear and of the checkpoint keys "…weight"/"…bias".
type Linear struct {
	nn.Module
	W *nn.Param // [out, in]
	B *nn.Param // [out]
}

// LayerNorm normalizes over the last dimension with learned scale W and
// shift B, ε = 1e-5 as in CLIP.
type LayerNorm struct {
	nn.Module
	W *nn.Param // [D], "…weight"
	B *nn.Param // [D], "…bias"
}

// Attention is multi-head self-attention with fused q, k, v projections:
// InProj maps [T, D] to [T, 3D] (q, k, v in that order, each split into
// Heads slices of D/Heads), OutProj maps the concatenated heads back to D.
type Attention struct {
	nn.Module
	InProj  *Linear // "attn.in_proj_weight" [3D, D], "attn.in_proj_bias" [3D]
	OutProj *Linear // "attn.out_proj.weight" [D, D], "attn.out_proj.bias" [D]
	Heads   int
}

// MLP is c_fc → activation → c_proj.
type MLP struct {
	nn.Module
	CFC   *Linear // "mlp.c_fc" [N, D]
	CProj *Linear // "mlp.c_proj" [D, N]
}

// Block is one pre-LN residual block; its fields mirror ln_1, attn, ln_2 and
// mlp:
//
//	x = x + Attn(LN1(x))
//	x = x + MLP(LN2(x))
type Block struct {
	nn.Module
	LN1  *LayerNorm
	Attn *Attention
	LN2  *LayerNorm
	MLP  *MLP
}

var (
	_ nn.Model = (*Linear)(nil)
	_ nn.Model = (*LayerNorm)(nil)
	_ nn.Model = (*Attention)(nil)
	_ nn.Model = (*MLP)(nil)
	_ nn.Model = (*Block)(nil)
)

// layerNormEps is CLIP's LayerNorm ε.
const layerNormEps = 1e-5

// newParam wraps data (not copied) as a float32 parameter of the given shape.
func newParam(data []float32, shape ...int) *nn.Param {
	return &nn.Param{Matrix: mat.NewDense[float32](mat.WithShape(shape...), mat.WithBacking(data))}
}

// values returns the float32 backing slice of p, not a copy.
func values(p *nn.Param) []float32 { return p.Data().F32() }

func newLinear(out, in int) *Linear {
	return &Linear{W: newParam(make([]float32, out*in), out, in), B: newParam(make([]float32, out), out)}
}

func newLayerNorm(d int) *LayerNorm {
	w := make([]float32, d)
	for i := range w {
		w[i] = 1
	}
	return &LayerNorm{W: newParam(w, d), B: newParam(make([]float32, d), d)}
}

func newBlock(width, heads, mlp int) *Block {
	return &Block{
		LN1:  newLayerNorm(width),
		Attn: &Attention{InProj: newLinear(3*width, width), OutProj: newLinear(width, width), Heads: heads},
		LN2:  newLayerNorm(width),
		MLP:  &MLP{CFC: newLinear(mlp, width), CProj: newLinear(width, mlp)},
	}
}
