package clip

import (
	"sync"

	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"

	"github.com/neuronlens/neuronlens/internal/kernels"
)

// batchRows is the number of residual-stream rows (tokens of all sequences
// together) one batched pass aims for: enough for every Linear to be one
// efficient matrix product, small enough that the scratch (about 30 KiB per
// row for ViT-B) stays cache- and memory-friendly. A single sequence
// longer than this still runs whole.
const batchRows = 1024

// seqs describes B sequences packed back to back in one residual stream
// [R, D]: sequence b has lens[b] tokens at rows rows[b] … rows[b+1]-1, and
// its attention patterns [H, T_b, T_b] start at scores[H·pats[b]], where
// pats[b] = Σ_{i<b} T_i². rows and pats have B+1 entries.
type seqs struct {
	lens, rows, pats []int
}

// setLens packs sequences of the given lengths.
func (q *seqs) setLens(B int, length func(b int) int) {
	q.lens = grow(q.lens, B)
	q.rows = grow(q.rows, B+1)
	q.pats = grow(q.pats, B+1)
	q.rows[0], q.pats[0] = 0, 0
	for b := range B {
		T := length(b)
		q.lens[b] = T
		q.rows[b+1] = q.rows[b] + T
		q.pats[b+1] = q.pats[b] + T*T
	}
}

// total is R, the number of rows of all sequences.
func (q *seqs) total() int { return q.rows[len(q.lens)] }

// scratch holds every buffer one batched forward pass of a tower needs.
// Buffers grow to the largest batch seen and are reused across calls.
type scratch struct {
	seqs
	x      []float32 // [R, D] residual stream
	h      []float32 // [R, D] LayerNorm output, then the heads' concatenation
	qkv    []float32 // [R, 3D]
	out    []float32 // [R, D] attention or MLP output
	scores []float32 // H·Σ T_b², see seqs
	hidden []float32 // [R, N]; first the image tower's patches [B·P, 3p²]
	mean   []float32 // [R]
	sigma  []float32 // [R]
	final  []float32 // [B, D] pooled tokens after the final LayerNorm
	stat   []float32 // [2B]: their means, then their σ
	pooled []int     // [B] row of each sequence's pooled token
}

// scratchPool keeps a tower's scratch between calls, one per concurrent
// caller at most. Unlike a sync.Pool it is not emptied by the garbage
// collector: a batched scratch is tens of MiB (17 MiB for 16 ViT-B/32
// images), and reallocating it after every collection would make the
// forward pass itself a source of garbage.
type scratchPool struct {
	mu   sync.Mutex
	free []*scratch
}

func (p *scratchPool) get() *scratch {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	return new(scratch)
}

func (p *scratchPool) put(s *scratch) {
	p.mu.Lock()
	p.free = append(p.free, s)
	p.mu.Unlock()
}

// reserve sizes the buffers for the sequences in s.seqs and a tower of
// width D, H heads, N MLP neurons and in input values (held in s.hidden
// until the first block).
func (s *scratch) reserve(D, H, N, in int) {
	R, B := s.total(), len(s.lens)
	s.x, s.h, s.out = grow(s.x, R*D), grow(s.h, R*D), grow(s.out, R*D)
	s.qkv = grow(s.qkv, 3*R*D)
	s.scores = grow(s.scores, H*s.pats[B])
	s.hidden = grow(s.hidden, max(R*N, in))
	s.mean, s.sigma = grow(s.mean, R), grow(s.sigma, R)
	s.final, s.stat, s.pooled = grow(s.final, B*D), grow(s.stat, 2*B), grow(s.pooled, B)
}

// grow returns s resliced to n elements, reallocated only when too small.
// The contents are not kept.
func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// blockWeights are a block's parameters as their float32 backing slices.
type blockWeights struct {
	ln1W, ln1B, inW, inB, outW, outB   []float32
	ln2W, ln2B, fcW, fcB, projW, projB []float32
	heads                              int
}

// weights are a tower's parameters resolved once to their backing slices:
// going through spago's mat.Matrix interface allocates on every access,
// which a forward pass must not do per block. params and mats record what
// was resolved, so a parameter whose matrix was replaced since
// ([nn.Param.ReplaceValue]) is noticed and the table rebuilt; edits in
// place need nothing, the slices are the parameters' own.
type weights struct {
	params []*nn.Param
	mats   []mat.Matrix
	vals   [][]float32 // values(params[i])
	blocks []blockWeights
}

// current reports whether every parameter still holds the matrix it held
// when w was built.
func (w *weights) current() bool {
	for i, p := range w.params {
		if p.Matrix != w.mats[i] {
			return false
		}
	}
	return true
}

// resolveWeights builds the table for blocks followed by the tower's other
// parameters extra, whose slices are w.vals[12·len(blocks):] in order.
func resolveWeights(blocks []*Block, extra ...*nn.Param) *weights {
	w := &weights{}
	for _, b := range blocks {
		w.params = append(w.params, b.LN1.W, b.LN1.B, b.Attn.InProj.W, b.Attn.InProj.B,
			b.Attn.OutProj.W, b.Attn.OutProj.B, b.LN2.W, b.LN2.B,
			b.MLP.CFC.W, b.MLP.CFC.B, b.MLP.CProj.W, b.MLP.CProj.B)
	}
	w.params = append(w.params, extra...)
	for _, p := range w.params {
		w.mats = append(w.mats, p.Matrix)
		w.vals = append(w.vals, values(p))
	}
	for l, b := range blocks {
		v := w.vals[12*l:]
		w.blocks = append(w.blocks, blockWeights{
			ln1W: v[0], ln1B: v[1], inW: v[2], inB: v[3], outW: v[4], outB: v[5],
			ln2W: v[6], ln2B: v[7], fcW: v[8], fcB: v[9], projW: v[10], projB: v[11],
			heads: b.Attn.Heads,
		})
	}
	return w
}

// extra returns the i-th non-block parameter's slice.
func (w *weights) extra(i int) []float32 { return w.vals[12*len(w.blocks)+i] }

// blockForward runs block w of a tower on every sequence of s.x [R, D] in
// place:
//
//	x = x + OutProj(softmax(QKᵀ/√dh [+ causal mask])·V)   with Q, K, V from InProj(LN1(x))
//	x = x + CProj(act(CFC(LN2(x))))
//
// The row-wise steps (LayerNorms, Linears, activation) run once over all
// R rows, so each Linear is one [R, ·] matrix product; attention runs per
// sequence, which never sees the others. The hooks of layer fire once per
// sequence, in order, on views of that sequence's rows, so they see the
// shapes of a one-sequence pass.
func blockForward(w *blockWeights, layer int, causal bool, act Activation, s *scratch, hk *hookTable) {
	D, H, N := len(w.ln1W), w.heads, len(w.fcB)
	R := s.total()
	x := s.x[:R*D]

	hk.fireSeqs(layer, ResidPre, x, &s.seqs, D)
	kernels.LayerNorm(s.h, x, R, D, w.ln1W, w.ln1B, layerNormEps, s.mean, s.sigma)
	hk.fireSeqs(layer, LN1Mean, s.mean, &s.seqs, 1)
	hk.fireSeqs(layer, LN1Scale, s.sigma, &s.seqs, 1)

	qkv := s.qkv[:R*3*D]
	kernels.Linear(qkv, s.h, R, D, w.inW, w.inB, 3*D)                   // [R, 3D]
	kernels.PackedAttentionPattern(s.scores, qkv, s.lens, D, H, causal) // H·Σ T_b²
	hk.firePatterns(layer, s.scores, &s.seqs, H)
	z := s.h[:R*D]
	kernels.PackedAttentionApply(z, s.scores, qkv, s.lens, D, H) // [R, D]
	out := s.out[:R*D]
	kernels.Linear(out, z, R, D, w.outW, w.outB, D) // [R, D]
	hk.fireSeqs(layer, AttnOut, out, &s.seqs, D)
	kernels.Add(x, out)
	hk.fireSeqs(layer, ResidMid, x, &s.seqs, D)

	kernels.LayerNorm(s.h, x, R, D, w.ln2W, w.ln2B, layerNormEps, nil, nil)
	hidden := s.hidden[:R*N]
	kernels.Linear(hidden, s.h, R, D, w.fcW, w.fcB, N) // [R, N]
	hk.fireSeqs(layer, MLPPre, hidden, &s.seqs, N)
	switch act {
	case GELU:
		kernels.GELU(hidden)
	default:
		kernels.QuickGELU(hidden)
	}
	hk.fireSeqs(layer, MLPPost, hidden, &s.seqs, N)
	kernels.Linear(out, hidden, R, N, w.projW, w.projB, D) // [R, D]
	hk.fireSeqs(layer, MLPOut, out, &s.seqs, D)
	kernels.Add(x, out)
	hk.fireSeqs(layer, ResidPost, x, &s.seqs, D)
}

// poolTo applies the final LayerNorm (lnW, lnB) to row s.pooled[b] of
// s.x [R, D] for every sequence b and projects it with proj [D, d] into
// dst [B, d]: dst[b*d+j]. The final-LayerNorm hooks fire per sequence.
func poolTo(dst []float32, s *scratch, D int, lnW, lnB, proj []float32, hk *hookTable) {
	B := len(s.lens)
	final := s.final[:B*D]
	for b, r := range s.pooled[:B] {
		copy(final[b*D:(b+1)*D], s.x[r*D:(r+1)*D])
	}
	mean, sigma := s.stat[:B], s.stat[B:2*B]
	kernels.LayerNorm(final, final, B, D, lnW, lnB, layerNormEps, mean, sigma) // [B, D]
	if hk != nil {
		for b := range B {
			hk.fire(0, LNPostMean, mean[b:b+1], 1, 1)
			hk.fire(0, LNPostScale, sigma[b:b+1], 1, 1)
		}
	}
	d := len(proj) / D
	kernels.Gemm(false, false, 1,
		kernels.Matrix{Rows: B, Cols: D, Stride: D, Data: final},
		kernels.Matrix{Rows: D, Cols: d, Stride: d, Data: proj},
		0, kernels.Matrix{Rows: B, Cols: d, Stride: d, Data: dst}) // [B, d]
}

// splitRows returns views [b*d : (b+1)*d] of flat, capacity-limited so
// that appending to one never writes into the next.
func splitRows(flat []float32, d int) [][]float32 {
	out := make([][]float32, len(flat)/d)
	for b := range out {
		out[b] = flat[b*d : (b+1)*d : (b+1)*d]
	}
	return out
}
