package sparse

import (
	"context"
	"math"
)

// block holds the scratch of one worker: up to bs targets that advance in
// lockstep, one scan per step for all of them.
type block struct {
	dict  *Dictionary
	k     int
	c     config
	ps    []pursuit
	live  []*pursuit
	r32   []float32 // [bs4, d] residuals, rows past the live ones zero
	r64   []float64
	out32 []float32 // [bs4, M] correlations α = E·r
	out64 []float64
}

func newBlock(dict *Dictionary, k, bs int, c config) *block {
	bs4 := (bs + 3) / 4 * 4
	b := &block{dict: dict, k: k, c: c, ps: make([]pursuit, bs)}
	if dict.e32 != nil {
		b.r32, b.out32 = make([]float32, bs4*dict.d), make([]float32, bs4*dict.m)
	} else {
		b.r64, b.out64 = make([]float64, bs4*dict.d), make([]float64, bs4*dict.m)
	}
	for i := range b.ps {
		b.ps[i].alloc(dict.d, k)
	}
	return b
}

// solve runs the pursuits of ys (len ≤ bs) to completion into res.
func (b *block) solve(ctx context.Context, ys [][]float64, res []Result) error {
	d, m := b.dict.d, b.dict.m
	b.live = b.live[:0]
	for i, y := range ys {
		p := &b.ps[i]
		p.reset(b.dict, y, b.k, b.c)
		b.live = append(b.live, p)
	}
	for len(b.live) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		nt := (len(b.live) + 3) / 4 * 4
		if b.r32 != nil {
			clear(b.r32[:nt*d])
			for i, p := range b.live {
				row := b.r32[i*d : (i+1)*d]
				for j, v := range p.r {
					row[j] = float32(v)
				}
			}
			scan32(b.out32, m, b.r32, nt, b.dict.e32, m, d)
		} else {
			clear(b.r64[:nt*d])
			for i, p := range b.live {
				copy(b.r64[i*d:(i+1)*d], p.r)
			}
			scan64(b.out64, m, b.r64, nt, b.dict.e64, m, d)
		}
		live := b.live[:0]
		for i, p := range b.live {
			var lam int
			var ok bool
			if b.out32 != nil {
				lam, ok = p.choose32(b.out32[i*m : (i+1)*m])
			} else {
				lam, ok = p.choose64(b.out64[i*m : (i+1)*m])
			}
			if ok && p.add(b.dict, lam) {
				live = append(live, p)
			}
		}
		b.live = live
	}
	for i := range ys {
		res[i] = b.ps[i].result()
	}
	return nil
}

// pursuit is the state of one target's OMP: the active set A (n atoms),
// the Cholesky factor L of G_AA = E_A·E_Aᵀ, and the residual r = y − E_Aᵀγ.
type pursuit struct {
	y      []float64
	yy     float64 // ‖y‖²
	k, d   int
	nonNeg bool
	hasTol bool
	tol    float64

	atoms []int
	gamma []float64   // [n] coefficients
	xyA   []float64   // [n] E_A·y
	ks    int         // row stride of l and g, grown on demand up to k
	l     []float64   // [ks, ks] row-major lower-triangular Cholesky factor of G_AA
	g     []float64   // [ks, ks] row-major G_AA (lower triangle)
	act   []float64   // [n, d] active atoms in float64, grown on demand
	r     []float64   // [d] residual
	pos   map[int]int // atom → position in scikit-learn's swapped order, where moved
	at    map[int]int // position → atom, where moved
	stop  Stop
	nn    nnlsScratch
}

func (p *pursuit) alloc(d, k int) {
	p.k, p.d = k, d
	p.ks = min(k, 256)
	p.l = make([]float64, p.ks*p.ks)
	p.g = make([]float64, p.ks*p.ks)
	p.act = make([]float64, 0, p.ks*d)
	p.r = make([]float64, d)
	p.pos = make(map[int]int)
	p.at = make(map[int]int)
}

func (p *pursuit) reset(dict *Dictionary, y []float64, k int, c config) {
	p.y = y
	p.yy = dot64(y, y)
	p.nonNeg, p.hasTol, p.tol = c.nonNeg, c.hasTol, c.tol
	p.atoms, p.gamma, p.xyA = p.atoms[:0], p.gamma[:0], p.xyA[:0]
	copy(p.r, y)
	clear(p.pos)
	clear(p.at)
	p.stop = StopMaxAtoms
	p.nn.passive = p.nn.passive[:0]
}

func (p *pursuit) position(atom int) int {
	if q, ok := p.pos[atom]; ok {
		return q
	}
	return atom
}

func (p *pursuit) atomAt(q int) int {
	if a, ok := p.at[q]; ok {
		return a
	}
	return q
}

// swap exchanges the atoms at positions q1 and q2, as scikit-learn swaps
// Gram rows and columns to keep the active atoms first.
func (p *pursuit) swap(q1, q2 int) {
	a1, a2 := p.atomAt(q1), p.atomAt(q2)
	p.at[q1], p.at[q2] = a2, a1
	p.pos[a2], p.pos[a1] = q1, q2
}

// choose32 and choose64 pick the next atom from the correlations α [M]:
// argmax |α| (or argmax α for NonNegative), ties going to the smallest
// position in scikit-learn's swapped order. ok is false when the pursuit
// stops (StopRepeatedAtom).
func (p *pursuit) choose32(alpha []float32) (lam int, ok bool) {
	best, ties := float32(-1), 0
	if p.nonNeg {
		best = float32(math.Inf(-1))
	}
	for i, v := range alpha {
		if !p.nonNeg {
			v = float32(math.Abs(float64(v)))
		}
		if v > best {
			best, lam, ties = v, i, 1
		} else if v == best {
			ties++
		}
	}
	if ties > 1 {
		lam = p.breakTie(len(alpha), func(i int) bool {
			v := alpha[i]
			if !p.nonNeg {
				v = float32(math.Abs(float64(v)))
			}
			return v == best
		})
	}
	return lam, p.checkRepeated(lam)
}

func (p *pursuit) choose64(alpha []float64) (lam int, ok bool) {
	best, ties := -1.0, 0
	if p.nonNeg {
		best = math.Inf(-1)
	}
	for i, v := range alpha {
		if !p.nonNeg {
			v = math.Abs(v)
		}
		if v > best {
			best, lam, ties = v, i, 1
		} else if v == best {
			ties++
		}
	}
	if ties > 1 {
		lam = p.breakTie(len(alpha), func(i int) bool {
			v := alpha[i]
			if !p.nonNeg {
				v = math.Abs(v)
			}
			return v == best
		})
	}
	return lam, p.checkRepeated(lam)
}

func (p *pursuit) breakTie(m int, isMax func(int) bool) int {
	lam, lq := -1, m
	for i := range m {
		if isMax(i) {
			if q := p.position(i); q < lq {
				lam, lq = i, q
			}
		}
	}
	return lam
}

func (p *pursuit) checkRepeated(lam int) bool {
	if p.position(lam) < len(p.atoms) {
		p.stop = StopRepeatedAtom
		return false
	}
	return true
}

// add tries to append atom lam to the active set and refits. It returns
// false when the pursuit has stopped.
func (p *pursuit) add(dict *Dictionary, lam int) bool {
	n, d := len(p.atoms), p.d
	if n == p.ks {
		p.grow()
	}
	p.act = p.act[:(n+1)*d]
	e := p.act[n*d : (n+1)*d]
	dict.atom64(e, lam)
	// The correlation, recomputed in float64 (the scan may be float32).
	if a := dot64(e, p.r); a*a < eps || (p.nonNeg && a <= 0) {
		p.stop = StopSmallCorrelation
		return false
	}
	// Gram row g = E_A·e_λ and the new row of L.
	gr := p.g[n*p.ks : n*p.ks+n+1]
	for i := range n {
		gr[i] = dot64(p.act[i*d:(i+1)*d], e)
	}
	gr[n] = dict.norms2[lam]
	lr := p.l[n*p.ks : n*p.ks+n+1]
	if n == 0 {
		lr[0] = math.Sqrt(gr[0])
	} else {
		copy(lr, gr[:n])
		p.forward(lr[:n], n)
		lkk := gr[n] - dot64(lr[:n], lr[:n])
		if lkk <= eps {
			p.stop = StopDependent
			return false
		}
		lr[n] = math.Sqrt(lkk)
	}
	p.swap(n, p.position(lam))
	p.atoms = append(p.atoms, lam)
	p.xyA = append(p.xyA, dot64(e, p.y))
	p.gamma = append(p.gamma, 0)
	n++
	if p.nonNeg {
		p.nnls(n)
	} else {
		copy(p.gamma, p.xyA)
		p.forward(p.gamma, n)
		p.backward(p.gamma, n)
	}
	// Residual r = y − E_Aᵀγ.
	copy(p.r, p.y)
	for i, c := range p.gamma {
		if c == 0 {
			continue
		}
		for j, v := range p.act[i*d : (i+1)*d] {
			p.r[j] -= c * v
		}
	}
	if p.hasTol {
		// scikit-learn's running error: ‖y‖² − γ·(G_AA·γ).
		var delta float64
		for i := range n {
			var bi float64
			for j := range n {
				bi += p.gram(i, j) * p.gamma[j]
			}
			delta += p.gamma[i] * bi
		}
		if math.Abs(p.yy-delta) <= p.tol {
			p.stop = StopTolerance
			return false
		}
	}
	if n == p.k {
		p.stop = StopMaxAtoms
		return false
	}
	return true
}

// gram returns (G_AA)[i, j] from the lower triangle.
func (p *pursuit) gram(i, j int) float64 {
	if j > i {
		i, j = j, i
	}
	return p.g[i*p.ks+j]
}

// grow doubles the stride of l and g (up to k), keeping their contents.
func (p *pursuit) grow() {
	ks := min(2*p.ks, p.k)
	l, g := make([]float64, ks*ks), make([]float64, ks*ks)
	for i := range p.ks {
		copy(l[i*ks:i*ks+i+1], p.l[i*p.ks:i*p.ks+i+1])
		copy(g[i*ks:i*ks+i+1], p.g[i*p.ks:i*p.ks+i+1])
	}
	p.ks, p.l, p.g = ks, l, g
}

// forward solves L[:n,:n]·x = b in place (b becomes x).
func (p *pursuit) forward(b []float64, n int) {
	for i := range n {
		row := p.l[i*p.ks : i*p.ks+i]
		b[i] = (b[i] - dot64(row, b[:i])) / p.l[i*p.ks+i]
	}
}

// backward solves L[:n,:n]ᵀ·x = b in place.
func (p *pursuit) backward(b []float64, n int) {
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for j := i + 1; j < n; j++ {
			s -= p.l[j*p.ks+i] * b[j]
		}
		b[i] = s / p.l[i*p.ks+i]
	}
}

func (p *pursuit) result() Result {
	n := len(p.atoms)
	res := Result{
		Atoms:        append([]int(nil), p.atoms...),
		Coefs:        append([]float64(nil), p.gamma[:n]...),
		ResidualNorm: math.Sqrt(dot64(p.r, p.r)),
		Stopped:      p.stop,
	}
	return res
}
