package train

import (
	"fmt"
	"math"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// classLoss returns the autograd node of the zero-shot classification loss
// (a scalar) of B image embeddings img[i] [d] with labels labels[i] in
// [0, C), against C class text embeddings cls[c] [d], with the temperature
// node logitScale (one value s):
//
//	u_i = img_i/‖img_i‖,  w_c = cls_c/‖cls_c‖,  L_ic = exp(s)·u_i·w_c   [B, C]
//	loss = Σ_i CE(L_i·, labels_i) / B
//
// It is the objective of the zero-shot classifier: each image against one
// prompt per class, with no false negatives. It panics on mismatched sizes
// or a label out of range.
func classLoss(img, cls []mat.Tensor, labels []int, logitScale mat.Tensor) mat.Tensor {
	if len(img) != len(labels) || len(img) == 0 || len(cls) == 0 {
		panic(fmt.Sprintf("train: classLoss: %d images, %d labels, %d classes", len(img), len(labels), len(cls)))
	}
	for _, l := range labels {
		if l < 0 || l >= len(cls) {
			panic(fmt.Sprintf("train: classLoss: label %d outside [0, %d)", l, len(cls)))
		}
	}
	return ag.NewOperator(&classLossOp{img: img, cls: cls, labels: labels, scale: logitScale}).Run()
}

// classLossOp is classLoss as one operator. With R = rowsoftmax(L) and Y
// the one-hot labels, ∂L = (R - Y)/B, ∂s = Σ ∂L⊙L, ∂u_i = exp(s)·Σ_c ∂L_ic w_c,
// ∂w_c = exp(s)·Σ_i ∂L_ic u_i, and ∂x = (∂u - u(u·∂u))/‖x‖ for x = ‖x‖u.
type classLossOp struct {
	img, cls []mat.Tensor
	labels   []int
	scale    mat.Tensor

	u, w       [][]float64
	nu, nw     []float64
	logits, dl []float64 // [B, C]
}

var _ ag.AutoGradFunction = (*classLossOp)(nil)

func (f *classLossOp) Operands() []mat.Tensor {
	ops := append(append([]mat.Tensor{}, f.img...), f.cls...)
	return append(ops, f.scale)
}

func (f *classLossOp) Forward() (mat.Tensor, error) {
	B, C := len(f.img), len(f.cls)
	f.u, f.nu = unitAll(f.img)
	f.w, f.nw = unitAll(f.cls)
	e := math.Exp(float64(mat.Data[float32](f.scale.Value())[0]))
	f.logits, f.dl = make([]float64, B*C), make([]float64, B*C)
	var loss float64
	for i := range B {
		row := f.logits[i*C : (i+1)*C]
		mx := math.Inf(-1)
		for c := range C {
			row[c] = e * dot(f.u[i], f.w[c])
			mx = math.Max(mx, row[c])
		}
		var s float64
		for _, l := range row {
			s += math.Exp(l - mx)
		}
		lse := mx + math.Log(s)
		loss += lse - row[f.labels[i]]
		for c, l := range row {
			f.dl[i*C+c] = math.Exp(l-lse) / float64(B)
		}
		f.dl[i*C+f.labels[i]] -= 1 / float64(B)
	}
	return mat.Scalar(float32(loss / float64(B))), nil
}

func (f *classLossOp) Backward(gy mat.Tensor) error {
	B, C := len(f.img), len(f.cls)
	g := float64(mat.Data[float32](gy)[0])
	e := math.Exp(float64(mat.Data[float32](f.scale.Value())[0]))
	if f.scale.RequiresGrad() {
		var ds float64
		for k, l := range f.logits {
			ds += f.dl[k] * l
		}
		f.scale.AccGrad(mat.NewDense[float32](mat.WithShape(f.scale.Shape()...), mat.WithBacking([]float32{float32(g * ds)})))
	}
	d := len(f.u[0])
	for i := range B {
		if !f.img[i].RequiresGrad() {
			continue
		}
		du := make([]float64, d)
		for c := range C {
			axpy(du, g*e*f.dl[i*C+c], f.w[c])
		}
		f.img[i].AccGrad(unitBackward(f.img[i], f.u[i], f.nu[i], du))
	}
	for c := range C {
		if !f.cls[c].RequiresGrad() {
			continue
		}
		dw := make([]float64, d)
		for i := range B {
			axpy(dw, g*e*f.dl[i*C+c], f.u[i])
		}
		f.cls[c].AccGrad(unitBackward(f.cls[c], f.w[c], f.nw[c], dw))
	}
	return nil
}

// unitAll returns x/‖x‖ of every tensor in float64, and the norms (1 for a
// zero vector, which stays zero).
func unitAll(xs []mat.Tensor) ([][]float64, []float64) {
	us, ns := make([][]float64, len(xs)), make([]float64, len(xs))
	for i, x := range xs {
		v := mat.Data[float32](x.Value())
		var ss float64
		for _, a := range v {
			ss += float64(a) * float64(a)
		}
		n := math.Sqrt(ss)
		if n == 0 {
			n = 1
		}
		u := make([]float64, len(v))
		for k, a := range v {
			u[k] = float64(a) / n
		}
		us[i], ns[i] = u, n
	}
	return us, ns
}

// unitBackward returns ∂x for x = n·u given ∂u, shaped like x.
func unitBackward(x mat.Tensor, u []float64, n float64, du []float64) mat.Tensor {
	p := dot(u, du)
	dx := make([]float32, len(u))
	for k, a := range u {
		dx[k] = float32((du[k] - a*p) / n)
	}
	return mat.NewDense[float32](mat.WithShape(x.Shape()...), mat.WithBacking(dx))
}

func dot(a, b []float64) float64 {
	var s float64
	for k, v := range a {
		s += v * b[k]
	}
	return s
}

func axpy(dst []float64, a float64, x []float64) {
	for k, v := range x {
		dst[k] += a * v
	}
}
