package sparse

// This file holds the bulk product of the pursuit, the only place where the
// whole dictionary is read: the correlations of every atom with the residuals
// of a block of targets,
//
//	dst[t*ldc+m] = Σ_j e[m*d+j]·r[t*d+j]   for t < nt, m < M,
//
// for E [M, d] and R [nt, d], both row-major and dense.
//
// Every element is computed by the same sequence of floating-point operations
// whichever kernel, tile position or batch size produces it, so a target's
// correlations, and hence its whole pursuit, do not depend on which other
// targets share its block. The reference order, spelled out by dotRef32 and
// dotRef64, is: lane sums over chunks of w elements (w = 8 for float32, 4 for
// float64) with separately rounded products,
//
//	acc[l] += round(e[c*w+l]·r[c*w+l])   for each full chunk c,
//
// a fixed pairwise tree over the lanes, then the tail elements one by one.

// scanBlockAtoms is the number of atoms (rows of E) processed against all
// targets of a block before moving on, so that the rows stay in cache.
const scanBlockAtoms = 128

// dotRef32 is the reference float32 dot product, in the order described above.
func dotRef32(e, r []float32) float32 {
	var acc [8]float32
	n8 := len(e) / 8 * 8
	for c := 0; c < n8; c += 8 {
		ec, rc := e[c:c+8:c+8], r[c:c+8:c+8]
		for l := range 8 {
			acc[l] += float32(ec[l] * rc[l])
		}
	}
	s := ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
	for j := n8; j < len(e); j++ {
		s += float32(e[j] * r[j])
	}
	return s
}

// dotRef64 is the reference float64 dot product, in the order described above.
func dotRef64(e, r []float64) float64 {
	var acc [4]float64
	n4 := len(e) / 4 * 4
	for c := 0; c < n4; c += 4 {
		ec, rc := e[c:c+4:c+4], r[c:c+4:c+4]
		for l := range 4 {
			acc[l] += float64(ec[l] * rc[l])
		}
	}
	s := (acc[0] + acc[1]) + (acc[2] + acc[3])
	for j := n4; j < len(e); j++ {
		s += float64(e[j] * r[j])
	}
	return s
}

// scanRef32 is the generic float32 scan: dst [nt, ldc] gets E·Rᵀ.
func scanRef32(dst []float32, ldc int, r []float32, nt int, e []float32, m, d int) {
	for t := range nt {
		rt := r[t*d : (t+1)*d]
		row := dst[t*ldc : t*ldc+m]
		for i := range m {
			row[i] = dotRef32(e[i*d:(i+1)*d], rt)
		}
	}
}

// scanRef64 is the generic float64 scan: dst [nt, ldc] gets E·Rᵀ.
func scanRef64(dst []float64, ldc int, r []float64, nt int, e []float64, m, d int) {
	for t := range nt {
		rt := r[t*d : (t+1)*d]
		row := dst[t*ldc : t*ldc+m]
		for i := range m {
			row[i] = dotRef64(e[i*d:(i+1)*d], rt)
		}
	}
}

// scan32 computes dst[t*ldc+m] = E·R for R [nt, d]; nt must be a multiple
// of 4 when the assembly kernel is used (callers pad with zero rows). The
// result is bit-identical to scanRef32.
func scan32(dst []float32, ldc int, r []float32, nt int, e []float32, m, d int) {
	if len(r) < nt*d || len(e) < m*d || (nt > 0 && len(dst) < (nt-1)*ldc+m) {
		panic("sparse: scan32: slice too short")
	}
	if !haveScan32 || d < 8 {
		scanRef32(dst, ldc, r, nt, e, m, d)
		return
	}
	n8 := d / 8 * 8
	quads := nt / 4 * 4
	for a0 := 0; a0 < m; a0 += scanBlockAtoms {
		a1 := min(a0+scanBlockAtoms, m)
		pairs := (a1 - a0) / 2
		for t := 0; t < quads; t += 4 {
			if pairs > 0 {
				scan4x2f32(&dst[t*ldc+a0], ldc, &r[t*d], d, &e[a0*d], d, pairs, n8/8)
			}
			for i := a0; i < a0+2*pairs; i++ {
				if n8 == d {
					break
				}
				for q := t; q < t+4; q++ {
					s := dst[q*ldc+i]
					for j := n8; j < d; j++ {
						s += float32(e[i*d+j] * r[q*d+j])
					}
					dst[q*ldc+i] = s
				}
			}
			for i := a0 + 2*pairs; i < a1; i++ {
				for q := t; q < t+4; q++ {
					dst[q*ldc+i] = dotRef32(e[i*d:(i+1)*d], r[q*d:(q+1)*d])
				}
			}
		}
	}
	for q := quads; q < nt; q++ {
		scanRef32(dst[q*ldc:], ldc, r[q*d:], 1, e, m, d)
	}
}

// scan64 is scan32 for float64, bit-identical to scanRef64.
func scan64(dst []float64, ldc int, r []float64, nt int, e []float64, m, d int) {
	if len(r) < nt*d || len(e) < m*d || (nt > 0 && len(dst) < (nt-1)*ldc+m) {
		panic("sparse: scan64: slice too short")
	}
	if !haveScan64 || d < 4 {
		scanRef64(dst, ldc, r, nt, e, m, d)
		return
	}
	n4 := d / 4 * 4
	quads := nt / 4 * 4
	for a0 := 0; a0 < m; a0 += scanBlockAtoms {
		a1 := min(a0+scanBlockAtoms, m)
		pairs := (a1 - a0) / 2
		for t := 0; t < quads; t += 4 {
			if pairs > 0 {
				scan4x2f64(&dst[t*ldc+a0], ldc, &r[t*d], d, &e[a0*d], d, pairs, n4/4)
			}
			for i := a0; i < a0+2*pairs; i++ {
				if n4 == d {
					break
				}
				for q := t; q < t+4; q++ {
					s := dst[q*ldc+i]
					for j := n4; j < d; j++ {
						s += float64(e[i*d+j] * r[q*d+j])
					}
					dst[q*ldc+i] = s
				}
			}
			for i := a0 + 2*pairs; i < a1; i++ {
				for q := t; q < t+4; q++ {
					dst[q*ldc+i] = dotRef64(e[i*d:(i+1)*d], r[q*d:(q+1)*d])
				}
			}
		}
	}
	for q := quads; q < nt; q++ {
		scanRef64(dst[q*ldc:], ldc, r[q*d:], 1, e, m, d)
	}
}
