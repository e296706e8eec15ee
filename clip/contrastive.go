package clip

import (
	"fmt"
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// ContrastiveLoss returns the autograd node of CLIP's symmetric
// cross-entropy loss (a [1, 1] scalar) for B matching image and text
// embeddings img[i] ↔ txt[i], each of d values, and the temperature node
// logitScale (one value s, usually m.LogitScale):
//
//	u_i = img_i/‖img_i‖,  v_j = txt_j/‖txt_j‖,  L_ij = exp(s)·u_i·v_j      [B, B]
//	loss = (Σ_i CE(L_i·, i) + Σ_j CE(L_·j, j)) / 2B,  CE(z, k) = log Σ exp(z) - z_k
//
// Gradients flow into every embedding and into logitScale. The loss and its
// gradients are computed in float64 and rounded to float32. It panics if img
// and txt differ in length, are empty, or hold embeddings of different sizes.
func ContrastiveLoss(img, txt []mat.Tensor, logitScale mat.Tensor) mat.Tensor {
	if len(img) != len(txt) || len(img) == 0 {
		panic(fmt.Sprintf("clip: ContrastiveLoss: %d images and %d texts, want the same positive number", len(img), len(txt)))
	}
	d := img[0].Size()
	for i := range img {
		if img[i].Size() != d || txt[i].Size() != d {
			panic(fmt.Sprintf("clip: ContrastiveLoss: pair %d has sizes %d and %d, want %d", i, img[i].Size(), txt[i].Size(), d))
		}
	}
	if logitScale.Size() != 1 {
		panic(fmt.Sprintf("clip: ContrastiveLoss: logit scale has %d values, want 1", logitScale.Size()))
	}
	return ag.NewOperator(&contrastiveOp{img: img, txt: txt, scale: logitScale, dim: d}).Run()
}

// contrastiveOp is ContrastiveLoss as one operator. With the softmaxes
// R = rowsoftmax(L) and C = colsoftmax(L), ∂L = (R + C - 2I)/2B, and
//
//	∂s = Σ ∂L⊙L   ∂u_i = exp(s)·Σ_j ∂L_ij v_j   ∂img_i = (∂u_i - u_i(u_i·∂u_i))/‖img_i‖
//
// and symmetrically for the texts.
type contrastiveOp struct {
	img, txt []mat.Tensor
	scale    mat.Tensor
	dim      int

	u, v       [][]float64 // normalized embeddings [B][d], saved by Forward
	nu, nv     []float64   // norms [B]
	logits, dl []float64   // L and ∂loss/∂L [B, B]
}

var _ ag.AutoGradFunction = (*contrastiveOp)(nil)

func (f *contrastiveOp) Operands() []mat.Tensor {
	ops := make([]mat.Tensor, 0, 2*len(f.img)+1)
	ops = append(ops, f.img...)
	ops = append(ops, f.txt...)
	return append(ops, f.scale)
}

// unitVector returns x/‖x‖ in float64 and ‖x‖ (1 for a zero vector, which
// then stays zero).
func unitVector(x []float32) ([]float64, float64) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	n := math.Sqrt(ss)
	if n == 0 {
		n = 1
	}
	u := make([]float64, len(x))
	for i, v := range x {
		u[i] = float64(v) / n
	}
	return u, n
}

func (f *contrastiveOp) Forward() (mat.Tensor, error) {
	B := len(f.img)
	f.u, f.v = make([][]float64, B), make([][]float64, B)
	f.nu, f.nv = make([]float64, B), make([]float64, B)
	for i := range B {
		f.u[i], f.nu[i] = unitVector(tensorData(f.img[i]))
		f.v[i], f.nv[i] = unitVector(tensorData(f.txt[i]))
	}
	e := math.Exp(float64(tensorData(f.scale)[0]))
	f.logits = make([]float64, B*B)
	for i := range B {
		for j := range B {
			var c float64
			for k, a := range f.u[i] {
				c += a * f.v[j][k]
			}
			f.logits[i*B+j] = e * c
		}
	}
	// ∂loss/∂L = (rowsoftmax + colsoftmax - 2I)/2B; loss from the same log-sum-exps.
	f.dl = make([]float64, B*B)
	var loss float64
	for pass := range 2 { // 0: rows (image → texts), 1: columns (text → images)
		for i := range B {
			at := func(j int) int {
				if pass == 0 {
					return i*B + j
				}
				return j*B + i
			}
			mx := math.Inf(-1)
			for j := range B {
				mx = math.Max(mx, f.logits[at(j)])
			}
			var s float64
			for j := range B {
				s += math.Exp(f.logits[at(j)] - mx)
			}
			lse := mx + math.Log(s)
			loss += lse - f.logits[at(i)]
			for j := range B {
				f.dl[at(j)] += math.Exp(f.logits[at(j)]-lse) / float64(2*B)
			}
			f.dl[at(i)] -= 1 / float64(2*B)
		}
	}
	return mat.Scalar(float32(loss / float64(2*B))), nil
}

func (f *contrastiveOp) Backward(gy mat.Tensor) error {
	B, d := len(f.img), f.dim
	g := float64(tensorData(gy)[0])
	e := math.Exp(float64(tensorData(f.scale)[0]))
	if f.scale.RequiresGrad() {
		var ds float64
		for k, l := range f.logits {
			ds += f.dl[k] * l
		}
		f.scale.AccGrad(gradFor(f.scale, []float32{float32(g * ds)}))
	}
	// back returns ∂x for x = n·w (w unit) given ∂w = Σ_j coef_j·others_j.
	back := func(w []float64, n float64, coef func(j int) float64, others [][]float64) []float32 {
		dw := make([]float64, d)
		for j := range B {
			c := coef(j)
			for k, o := range others[j] {
				dw[k] += c * o
			}
		}
		var dot float64
		for k, a := range w {
			dot += a * dw[k]
		}
		dx := make([]float32, d)
		for k, a := range w {
			dx[k] = float32((dw[k] - a*dot) / n)
		}
		return dx
	}
	for i := range B {
		if f.img[i].RequiresGrad() {
			dx := back(f.u[i], f.nu[i], func(j int) float64 { return g * e * f.dl[i*B+j] }, f.v)
			f.img[i].AccGrad(gradFor(f.img[i], dx))
		}
		if f.txt[i].RequiresGrad() {
			dx := back(f.v[i], f.nv[i], func(j int) float64 { return g * e * f.dl[j*B+i] }, f.u)
			f.txt[i].AccGrad(gradFor(f.txt[i], dx))
		}
	}
	return nil
}
