package sparse

import "math"

// nnlsScratch is the state of the Lawson–Hanson solver of NonNegative,
// kept across steps for its warm start.
type nnlsScratch struct {
	passive []bool    // [n] atoms free to be positive (the set P)
	s       []float64 // [n] unconstrained solution on P
	a       []float64 // [|P|, |P|] Cholesky workspace
	idx     []int     // positions of P
}

// nnls refits p.gamma [n] (the new atom's entry 0, the rest from the
// previous step, so feasible) to
//
//	min ½·γᵀ·G_AA·γ − (E_A·y)ᵀ·γ   subject to γ ≥ 0,
//
// which is min ‖y − E_Aᵀ·γ‖² over γ ≥ 0, by Lawson–Hanson's active-set
// method on the normal equations. G_AA is positive definite (the dependence
// check ran), so every principal block has a Cholesky factor.
func (p *pursuit) nnls(n int) {
	st := &p.nn
	st.passive = append(st.passive, false)
	if cap(st.s) < n {
		st.s = make([]float64, n, 2*n)
	}
	st.s = st.s[:n]
	x, b := p.gamma[:n], p.xyA[:n]
	var bmax float64
	for _, v := range b {
		bmax = max(bmax, math.Abs(v))
	}
	tolW := 1e-12 * bmax
	for range 3*n + 10 {
		// Gradient w = b − G·x; move the most violated zero variable to P.
		j, wmax := -1, tolW
		for i := range n {
			if st.passive[i] {
				continue
			}
			wi := b[i]
			for q := range n {
				wi -= p.gram(i, q) * x[q]
			}
			if wi > wmax {
				j, wmax = i, wi
			}
		}
		if j < 0 {
			return
		}
		st.passive[j] = true
		for range n + 1 {
			if !p.solvePassive(n) {
				st.passive[j] = false // numerically singular: leave it at 0
				break
			}
			feasible := true
			for i := range n {
				if st.passive[i] && st.s[i] <= 0 {
					feasible = false
					break
				}
			}
			if feasible {
				copy(x, st.s)
				break
			}
			// Step from x towards s until a passive variable hits 0.
			t := 1.0
			for i := range n {
				if st.passive[i] && st.s[i] <= 0 {
					t = min(t, x[i]/(x[i]-st.s[i]))
				}
			}
			for i := range n {
				x[i] += t * (st.s[i] - x[i])
				if st.passive[i] && x[i] <= 0 {
					x[i], st.passive[i] = 0, false
				}
			}
			if !st.passive[j] { // the new variable went straight back to 0
				break
			}
		}
	}
}

// solvePassive solves G_PP·s_P = b_P, s_Z = 0, by Cholesky; false if G_PP
// is not numerically positive definite.
func (p *pursuit) solvePassive(n int) bool {
	st := &p.nn
	st.idx = st.idx[:0]
	for i := range n {
		st.s[i] = 0
		if st.passive[i] {
			st.idx = append(st.idx, i)
		}
	}
	m := len(st.idx)
	if cap(st.a) < m*m {
		st.a = make([]float64, m*m, 2*m*m)
	}
	a := st.a[:m*m]
	// Lower Cholesky factor of G_PP, row by row.
	for r, ir := range st.idx {
		for c := 0; c <= r; c++ {
			v := p.gram(ir, st.idx[c]) - dot64(a[r*m:r*m+c], a[c*m:c*m+c])
			if c == r {
				if v <= 0 {
					return false
				}
				a[r*m+r] = math.Sqrt(v)
			} else {
				a[r*m+c] = v / a[c*m+c]
			}
		}
	}
	z := make([]float64, m) // small; only NonNegative pays for it
	for r, ir := range st.idx {
		z[r] = (p.xyA[ir] - dot64(a[r*m:r*m+r], z[:r])) / a[r*m+r]
	}
	for r := m - 1; r >= 0; r-- {
		v := z[r]
		for c := r + 1; c < m; c++ {
			v -= a[c*m+r] * z[c]
		}
		z[r] = v / a[r*m+r]
	}
	for r, ir := range st.idx {
		st.s[ir] = z[r]
	}
	return true
}
