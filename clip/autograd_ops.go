package clip

import (
	"math"

	"github.com/neuronlens/neuronlens/internal/kernels"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
)

// The fused spago operators of the autograd forward pass. Each implements
// ag.AutoGradFunction on float32 data: Forward runs the fast path's kernels,
// Backward accumulates exact gradients into every operand that requires
// them, exactly once per operand (spago counts the pending gradients of
// each operator node and waits for all of them).

var (
	_ ag.AutoGradFunction = (*linearOp)(nil)
	_ ag.AutoGradFunction = (*layerNormOp)(nil)
	_ ag.AutoGradFunction = (*attentionOp)(nil)
	_ ag.AutoGradFunction = (*activationOp)(nil)
	_ ag.AutoGradFunction = (*patchEmbedOp)(nil)
	_ ag.AutoGradFunction = (*tokenEmbedOp)(nil)
	_ ag.AutoGradFunction = (*rowsOp)(nil)
	_ ag.AutoGradFunction = (*poolOp)(nil)
)

// tensorData returns the float32 values of t (waiting for an operator's forward),
// not a copy.
func tensorData(t mat.Tensor) []float32 { return mat.Data[float32](t.Value()) }

// newDense wraps d (not copied) as a rows×cols float32 matrix.
func newDense(d []float32, rows, cols int) *mat.Dense[float32] {
	return mat.NewDense[float32](mat.WithShape(rows, cols), mat.WithBacking(d))
}

// gradFor wraps g as a gradient shaped like x, as AccGrad requires.
func gradFor(x mat.Tensor, g []float32) mat.Tensor {
	return mat.NewDense[float32](mat.WithShape(x.Shape()...), mat.WithBacking(g))
}

// gemmDense is kernels.Gemm on dense row-major operands: C = alpha·op(A)·op(B) + beta·C
// with A [ar, ac] and B [br, bc] before op, and C [cr, cc].
func gemmDense(transA, transB bool, alpha float32, a []float32, ar, ac int, b []float32, br, bc int, beta float32, c []float32, cr, cc int) {
	kernels.Gemm(transA, transB, alpha,
		kernels.Matrix{Rows: ar, Cols: ac, Stride: ac, Data: a},
		kernels.Matrix{Rows: br, Cols: bc, Stride: bc, Data: b},
		beta, kernels.Matrix{Rows: cr, Cols: cc, Stride: cc, Data: c})
}

// linearOp is y = x·Wᵀ + b (+ res) on the rows of x [rows, in], with
// W [out, in], b [out] and an optional residual res [rows, out]:
//
//	∂x = ∂y·W   ∂W = ∂yᵀ·x   ∂b = Σ_rows ∂y   ∂res = ∂y
type linearOp struct {
	x, w, b, res  mat.Tensor
	rows, in, out int
}

func (f *linearOp) Operands() []mat.Tensor {
	if f.res == nil {
		return []mat.Tensor{f.x, f.w, f.b}
	}
	return []mat.Tensor{f.x, f.w, f.b, f.res}
}

func (f *linearOp) Forward() (mat.Tensor, error) {
	y := make([]float32, f.rows*f.out)
	kernels.Linear(y, tensorData(f.x), f.rows, f.in, tensorData(f.w), tensorData(f.b), f.out)
	if f.res != nil {
		kernels.Add(y, tensorData(f.res))
	}
	return newDense(y, f.rows, f.out), nil
}

func (f *linearOp) Backward(gy mat.Tensor) error {
	g := tensorData(gy) // [rows, out]
	if f.x.RequiresGrad() {
		dx := make([]float32, f.rows*f.in)
		gemmDense(false, false, 1, g, f.rows, f.out, tensorData(f.w), f.out, f.in, 0, dx, f.rows, f.in)
		f.x.AccGrad(gradFor(f.x, dx))
	}
	if f.w.RequiresGrad() {
		dw := make([]float32, f.out*f.in)
		gemmDense(true, false, 1, g, f.rows, f.out, tensorData(f.x), f.rows, f.in, 0, dw, f.out, f.in)
		f.w.AccGrad(gradFor(f.w, dw))
	}
	if f.b.RequiresGrad() {
		db := make([]float32, f.out)
		for r := range f.rows {
			kernels.Add(db, g[r*f.out:(r+1)*f.out])
		}
		f.b.AccGrad(gradFor(f.b, db))
	}
	if f.res != nil && f.res.RequiresGrad() {
		f.res.AccGrad(gy)
	}
	return nil
}

// layerNormOp is CLIP's LayerNorm over the rows of x [rows, cols] with
// scale w and shift b [cols]. With x̂ = (x-μ)/σ, σ = sqrt(var + ε), and
// g = ∂y·w per row:
//
//	∂x = (g - mean(g) - x̂·mean(g·x̂))/σ   ∂w = Σ_rows ∂y·x̂   ∂b = Σ_rows ∂y
type layerNormOp struct {
	x, w, b     mat.Tensor
	rows, cols  int
	mean, sigma []float32 // [rows], saved by Forward
}

func (f *layerNormOp) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.w, f.b} }

func (f *layerNormOp) Forward() (mat.Tensor, error) {
	y := make([]float32, f.rows*f.cols)
	f.mean, f.sigma = make([]float32, f.rows), make([]float32, f.rows)
	kernels.LayerNorm(y, tensorData(f.x), f.rows, f.cols, tensorData(f.w), tensorData(f.b), layerNormEps, f.mean, f.sigma)
	return newDense(y, f.rows, f.cols), nil
}

func (f *layerNormOp) Backward(gy mat.Tensor) error {
	var dx, dw, db []float32
	if f.x.RequiresGrad() {
		dx = make([]float32, f.rows*f.cols)
	}
	if f.w.RequiresGrad() {
		dw = make([]float32, f.cols)
	}
	if f.b.RequiresGrad() {
		db = make([]float32, f.cols)
	}
	layerNormBackward(dx, dw, db, tensorData(gy), tensorData(f.x), tensorData(f.w), f.mean, f.sigma, f.rows, f.cols)
	if dx != nil {
		f.x.AccGrad(gradFor(f.x, dx))
	}
	if dw != nil {
		f.w.AccGrad(gradFor(f.w, dw))
	}
	if db != nil {
		f.b.AccGrad(gradFor(f.b, db))
	}
	return nil
}

// layerNormBackward sets dx [rows, cols] and adds to dw, db [cols] the
// gradients of a LayerNorm with input x, scale w and saved statistics mean,
// sigma [rows], given gy [rows, cols]. Nil outputs are skipped. The row
// means accumulate in float64.
func layerNormBackward(dx, dw, db, gy, x, w, mean, sigma []float32, rows, cols int) {
	xhat := make([]float32, cols)
	for r := range rows {
		xr, gr := x[r*cols:(r+1)*cols], gy[r*cols:(r+1)*cols]
		inv := 1 / sigma[r]
		var sg, sgx float64
		for i, v := range xr {
			xh := (v - mean[r]) * inv
			xhat[i] = xh
			g := gr[i] * w[i]
			sg += float64(g)
			sgx += float64(g * xh)
		}
		if dw != nil {
			for i, g := range gr {
				dw[i] += g * xhat[i]
			}
		}
		if db != nil {
			kernels.Add(db, gr)
		}
		if dx != nil {
			mg, mgx := float32(sg/float64(cols)), float32(sgx/float64(cols))
			d := dx[r*cols : (r+1)*cols]
			for i, g := range gr {
				d[i] = (g*w[i] - mg - xhat[i]*mgx) * inv
			}
		}
	}
}

// attentionOp is the multi-head self-attention core: from qkv [rows, 3D]
// (q, k, v in that order, head h in columns h·dh … (h+1)·dh-1 of each) it
// computes, per head, P = softmax(QKᵀ/√dh [+ causal mask]) and z = P·V,
// concatenating the heads into z [rows, D]. With S = QKᵀ/√dh:
//
//	∂V = Pᵀ·∂z   ∂P = ∂z·Vᵀ   ∂S = P⊙(∂P - rowsum(P⊙∂P))
//	∂Q = ∂S·K/√dh   ∂K = ∂Sᵀ·Q/√dh
//
// Masked entries of P are zero, so they pass no gradient.
type attentionOp struct {
	qkv                mat.Tensor
	rows, width, heads int
	causal             bool
	probs              []float32 // [H, rows, rows], saved by Forward
}

func (f *attentionOp) Operands() []mat.Tensor { return []mat.Tensor{f.qkv} }

func (f *attentionOp) Forward() (mat.Tensor, error) {
	T, D, H := f.rows, f.width, f.heads
	dh := D / H
	qkv := tensorData(f.qkv)
	f.probs = make([]float32, H*T*T)
	z := make([]float32, T*D)
	scale := float32(1 / math.Sqrt(float64(dh)))
	for h := range H {
		p := f.probs[h*T*T : (h+1)*T*T]
		q := kernels.Matrix{Rows: T, Cols: dh, Stride: 3 * D, Data: qkv[h*dh:]}
		k := kernels.Matrix{Rows: T, Cols: dh, Stride: 3 * D, Data: qkv[D+h*dh:]}
		kernels.Gemm(false, true, scale, q, k, 0, kernels.Matrix{Rows: T, Cols: T, Stride: T, Data: p})
		for i := range T {
			row := p[i*T : (i+1)*T]
			if f.causal {
				kernels.Softmax(row[:i+1])
				clear(row[i+1:])
			} else {
				kernels.Softmax(row)
			}
		}
	}
	for h := range H {
		p := kernels.Matrix{Rows: T, Cols: T, Stride: T, Data: f.probs[h*T*T : (h+1)*T*T]}
		v := kernels.Matrix{Rows: T, Cols: dh, Stride: 3 * D, Data: qkv[2*D+h*dh:]}
		kernels.Gemm(false, false, 1, p, v, 0, kernels.Matrix{Rows: T, Cols: dh, Stride: D, Data: z[h*dh:]})
	}
	return newDense(z, T, D), nil
}

func (f *attentionOp) Backward(gy mat.Tensor) error {
	if !f.qkv.RequiresGrad() {
		return nil
	}
	T, D, H := f.rows, f.width, f.heads
	dh := D / H
	qkv, gz := tensorData(f.qkv), tensorData(gy)
	dqkv := make([]float32, T*3*D)
	ds := make([]float32, T*T)
	scale := float32(1 / math.Sqrt(float64(dh)))
	view := func(d []float32, off, stride int) kernels.Matrix {
		return kernels.Matrix{Rows: T, Cols: dh, Stride: stride, Data: d[off:]}
	}
	for h := range H {
		p := f.probs[h*T*T : (h+1)*T*T]
		pm := kernels.Matrix{Rows: T, Cols: T, Stride: T, Data: p}
		dsm := kernels.Matrix{Rows: T, Cols: T, Stride: T, Data: ds}
		g := view(gz, h*dh, D)
		q, k, v := view(qkv, h*dh, 3*D), view(qkv, D+h*dh, 3*D), view(qkv, 2*D+h*dh, 3*D)
		kernels.Gemm(true, false, 1, pm, g, 0, view(dqkv, 2*D+h*dh, 3*D)) // ∂V
		kernels.Gemm(false, true, 1, g, v, 0, dsm)                        // ∂P
		for i := range T {
			pr, dr := p[i*T:(i+1)*T], ds[i*T:(i+1)*T]
			var s float32
			for j, pv := range pr {
				s += pv * dr[j]
			}
			for j, pv := range pr {
				dr[j] = pv * (dr[j] - s)
			}
		}
		kernels.Gemm(false, false, scale, dsm, k, 0, view(dqkv, h*dh, 3*D))  // ∂Q
		kernels.Gemm(true, false, scale, dsm, q, 0, view(dqkv, D+h*dh, 3*D)) // ∂K
	}
	f.qkv.AccGrad(gradFor(f.qkv, dqkv))
	return nil
}

// activationOp applies the MLP activation element-wise:
//
//	QuickGELU  y = x·σ(1.702x)   ∂x = ∂y·(s + 1.702·x·s·(1-s)), s = σ(1.702x)
//	GELU       y = x·Φ(x)        ∂x = ∂y·(Φ(x) + x·φ(x))
type activationOp struct {
	x   mat.Tensor
	act Activation
}

func (f *activationOp) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *activationOp) Forward() (mat.Tensor, error) {
	x := f.x.Value()
	y := append([]float32(nil), tensorData(x)...)
	switch f.act {
	case GELU:
		kernels.GELU(y)
	default:
		kernels.QuickGELU(y)
	}
	return gradFor(x, y), nil
}

func (f *activationOp) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	x, g := tensorData(f.x), tensorData(gy)
	dx := make([]float32, len(x))
	switch f.act {
	case GELU:
		const invSqrt2Pi = 0.3989422804014327
		for i, v := range x {
			v64 := float64(v)
			cdf := 0.5 * (1 + math.Erf(v64/math.Sqrt2))
			dx[i] = g[i] * float32(cdf+v64*invSqrt2Pi*math.Exp(-0.5*v64*v64))
		}
	default:
		for i, v := range x {
			s := 1 / (1 + kernels.Exp(-1.702*v))
			dx[i] = g[i] * (s + 1.702*v*s*(1-s))
		}
	}
	f.x.AccGrad(gradFor(f.x, dx))
	return nil
}

// patchEmbedOp is the image tower's input: it cuts pixels [3, S, S] into
// P = (S/p)² patches [P, 3·p·p] (row gy·g+gx, column c·p·p + i·p + j) and
// returns [class; patches·Conv1ᵀ] + pos, [T, D] with T = 1+P:
//
//	∂class = ∂y[0]   ∂pos = ∂y   ∂Conv1 = ∂y[1:]ᵀ·patches   ∂patches = ∂y[1:]·Conv1
//
// The pixel gradient puts ∂patches back in place (patches do not overlap).
type patchEmbedOp struct {
	pixels, conv1, class, pos mat.Tensor
	size, patch, width        int
	patches                   []float32 // [P, 3·p·p], saved by Forward
}

func (f *patchEmbedOp) Operands() []mat.Tensor {
	return []mat.Tensor{f.pixels, f.conv1, f.class, f.pos}
}

// im2col copies between pixels [3, S, S] and patches [P, 3·p·p]: toPatches
// reads pixels into patches, otherwise patches are written back to pixels.
func (f *patchEmbedOp) im2col(pixels, patches []float32, toPatches bool) {
	S, p := f.size, f.patch
	g, pp := S/p, p*p
	for gy := range g {
		for gx := range g {
			row := patches[(gy*g+gx)*3*pp:]
			for ch := range 3 {
				for i := range p {
					px := pixels[(ch*S+gy*p+i)*S+gx*p:][:p]
					pt := row[ch*pp+i*p:][:p]
					if toPatches {
						copy(pt, px)
					} else {
						copy(px, pt)
					}
				}
			}
		}
	}
}

func (f *patchEmbedOp) Forward() (mat.Tensor, error) {
	D, p := f.width, f.patch
	g := f.size / p
	P, T := g*g, 1+g*g
	f.patches = make([]float32, P*3*p*p)
	f.im2col(tensorData(f.pixels), f.patches, true)
	x := make([]float32, T*D)
	copy(x[:D], tensorData(f.class))
	kernels.Linear(x[D:], f.patches, P, 3*p*p, tensorData(f.conv1), nil, D)
	kernels.Add(x, tensorData(f.pos))
	return newDense(x, T, D), nil
}

func (f *patchEmbedOp) Backward(gy mat.Tensor) error {
	D, p := f.width, f.patch
	g := f.size / p
	P, K := g*g, 3*p*p
	dy := tensorData(gy)
	if f.pos.RequiresGrad() {
		f.pos.AccGrad(gy)
	}
	if f.class.RequiresGrad() {
		f.class.AccGrad(gradFor(f.class, append([]float32(nil), dy[:D]...)))
	}
	if f.conv1.RequiresGrad() {
		dw := make([]float32, D*K)
		gemmDense(true, false, 1, dy[D:], P, D, f.patches, P, K, 0, dw, D, K)
		f.conv1.AccGrad(gradFor(f.conv1, dw))
	}
	if f.pixels.RequiresGrad() {
		dp := make([]float32, P*K)
		gemmDense(false, false, 1, dy[D:], P, D, tensorData(f.conv1), D, K, 0, dp, P, K)
		dpix := make([]float32, 3*f.size*f.size)
		f.im2col(dpix, dp, false)
		f.pixels.AccGrad(gradFor(f.pixels, dpix))
	}
	return nil
}

// tokenEmbedOp looks up a batch of token sequences: sequence s contributes
// rows tok[ids[s][t]] + pos[t] for t < lens[s], stacked into [ΣT, W]. The
// gradients scatter back into the rows looked up:
//
//	∂tok[id] += ∂y[row]   ∂pos[t] += ∂y[row]
type tokenEmbedOp struct {
	tok, pos mat.Tensor
	ids      [][]int
	lens     []int
	width    int
}

func (f *tokenEmbedOp) Operands() []mat.Tensor { return []mat.Tensor{f.tok, f.pos} }

func (f *tokenEmbedOp) Forward() (mat.Tensor, error) {
	W := f.width
	total := 0
	for _, n := range f.lens {
		total += n
	}
	tok, pos := tensorData(f.tok), tensorData(f.pos)
	x := make([]float32, total*W)
	r := 0
	for s, seq := range f.ids {
		for t := range f.lens[s] {
			row := x[r*W : (r+1)*W]
			copy(row, tok[seq[t]*W:(seq[t]+1)*W])
			kernels.Add(row, pos[t*W:(t+1)*W])
			r++
		}
	}
	return newDense(x, total, W), nil
}

func (f *tokenEmbedOp) Backward(gy mat.Tensor) error {
	W := f.width
	dy := tensorData(gy)
	var dtok, dpos []float32
	if f.tok.RequiresGrad() {
		dtok = make([]float32, f.tok.Size())
	}
	if f.pos.RequiresGrad() {
		dpos = make([]float32, f.pos.Size())
	}
	r := 0
	for s, seq := range f.ids {
		for t := range f.lens[s] {
			row := dy[r*W : (r+1)*W]
			if dtok != nil {
				kernels.Add(dtok[seq[t]*W:(seq[t]+1)*W], row)
			}
			if dpos != nil {
				kernels.Add(dpos[t*W:(t+1)*W], row)
			}
			r++
		}
	}
	if dtok != nil {
		f.tok.AccGrad(gradFor(f.tok, dtok))
	}
	if dpos != nil {
		f.pos.AccGrad(gradFor(f.pos, dpos))
	}
	return nil
}

// rowsOp is the view x[from : from+rows] of x [·, cols], copied; its
// gradient fills those rows of a zero matrix shaped like x.
type rowsOp struct {
	x                mat.Tensor
	from, rows, cols int
}

func (f *rowsOp) Operands() []mat.Tensor { return []mat.Tensor{f.x} }

func (f *rowsOp) Forward() (mat.Tensor, error) {
	y := append([]float32(nil), tensorData(f.x)[f.from*f.cols:(f.from+f.rows)*f.cols]...)
	return newDense(y, f.rows, f.cols), nil
}

func (f *rowsOp) Backward(gy mat.Tensor) error {
	if !f.x.RequiresGrad() {
		return nil
	}
	dx := make([]float32, f.x.Size())
	copy(dx[f.from*f.cols:], tensorData(gy))
	f.x.AccGrad(gradFor(f.x, dx))
	return nil
}

// poolOp applies the final LayerNorm (w, b [D]) to row `row` of x [T, D]
// and projects it with proj [D, d]: y = LN(x[row])·proj, [d]. With
// u = LN(x[row]):
//
//	∂proj = uᵀ·∂y   ∂u = proj·∂y, then the LayerNorm gradient into x[row], w, b
type poolOp struct {
	x, w, b, proj mat.Tensor
	row           int
	width, out    int
	u             []float32 // [D], saved by Forward
	stat          [2]float32
}

func (f *poolOp) Operands() []mat.Tensor { return []mat.Tensor{f.x, f.w, f.b, f.proj} }

func (f *poolOp) Forward() (mat.Tensor, error) {
	D, d := f.width, f.out
	f.u = make([]float32, D)
	x := tensorData(f.x)[f.row*D : (f.row+1)*D]
	kernels.LayerNorm(f.u, x, 1, D, tensorData(f.w), tensorData(f.b), layerNormEps, f.stat[0:1], f.stat[1:2])
	y := make([]float32, d)
	gemmDense(false, false, 1, f.u, 1, D, tensorData(f.proj), D, d, 0, y, 1, d)
	return newDense(y, d, 1), nil
}

func (f *poolOp) Backward(gy mat.Tensor) error {
	D, d := f.width, f.out
	g := tensorData(gy)
	if f.proj.RequiresGrad() {
		dp := make([]float32, D*d)
		gemmDense(false, false, 1, f.u, D, 1, g, 1, d, 0, dp, D, d)
		f.proj.AccGrad(gradFor(f.proj, dp))
	}
	xr, wr, br := f.x.RequiresGrad(), f.w.RequiresGrad(), f.b.RequiresGrad()
	if !xr && !wr && !br {
		return nil
	}
	du := make([]float32, D)
	gemmDense(false, false, 1, tensorData(f.proj), D, d, g, d, 1, 0, du, D, 1)
	var dx, dw, db []float32
	if xr {
		dx = make([]float32, f.x.Size())
	}
	if wr {
		dw = make([]float32, D)
	}
	if br {
		db = make([]float32, D)
	}
	var dxRow []float32
	if dx != nil {
		dxRow = dx[f.row*D : (f.row+1)*D]
	}
	x := tensorData(f.x)[f.row*D : (f.row+1)*D]
	layerNormBackward(dxRow, dw, db, du, x, tensorData(f.w), f.stat[0:1], f.stat[1:2], 1, D)
	if dx != nil {
		f.x.AccGrad(gradFor(f.x, dx))
	}
	if dw != nil {
		f.w.AccGrad(gradFor(f.w, dw))
	}
	if db != nil {
		f.b.AccGrad(gradFor(f.b, db))
	}
	return nil
}
