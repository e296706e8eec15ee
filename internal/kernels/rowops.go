package kernels

import (
	"math"
	"sync"
)

// LayerNorm normalizes each row of x [rows, cols] into dst:
//
//	μ = mean(x_r),  σ = sqrt(mean((x_r-μ)²) + eps)
//	dst_r = (x_r - μ)/σ · gamma + beta
//
// and stores μ and σ per row in mean and sigma when they are non-nil. The
// statistics accumulate in float32 over eight interleaved partial sums,
// the variance from the deviations (two passes). dst may alias x. Long
// inputs are split by rows across the cores. It panics when a slice is too
// short.
func LayerNorm(dst, x []float32, rows, cols int, gamma, beta []float32, eps float32, mean, sigma []float32) {
	if len(x) < rows*cols || len(dst) < rows*cols || len(gamma) < cols || len(beta) < cols ||
		(mean != nil && len(mean) < rows) || (sigma != nil && len(sigma) < rows) {
		panic("kernels: LayerNorm: slice too short")
	}
	if cols == 0 {
		return
	}
	gamma, beta = gamma[:cols], beta[:cols]
	forRows(rows, cols, func(r0, r1 int) { layerNormRows(dst, x, r0, r1, cols, gamma, beta, eps, mean, sigma) })
}

// layerNormRows is LayerNorm on rows r0..r1-1.
func layerNormRows(dst, x []float32, r0, r1, cols int, gamma, beta []float32, eps float32, mean, sigma []float32) {
	for r := r0; r < r1; r++ {
		row := x[r*cols : (r+1)*cols]
		mu := sum32(row) / float32(cols)
		v := sumSqDev32(row, mu) / float32(cols)
		sd := float32(math.Sqrt(float64(v + eps))) // once per row
		inv := 1 / sd
		out := dst[r*cols : (r+1)*cols]
		for i, xv := range row {
			out[i] = (xv-mu)*inv*gamma[i] + beta[i]
		}
		if mean != nil {
			mean[r] = mu
		}
		if sigma != nil {
			sigma[r] = sd
		}
	}
}

// sum32 is Σ x over eight partial sums.
func sum32(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		c := x[i : i+8 : i+8]
		s[0] += c[0]
		s[1] += c[1]
		s[2] += c[2]
		s[3] += c[3]
		s[4] += c[4]
		s[5] += c[5]
		s[6] += c[6]
		s[7] += c[7]
	}
	for ; i < len(x); i++ {
		s[i&7] += x[i]
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// sumSqDev32 is Σ (x-mu)² over eight partial sums.
func sumSqDev32(x []float32, mu float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		c := x[i : i+8 : i+8]
		d0, d1, d2, d3 := c[0]-mu, c[1]-mu, c[2]-mu, c[3]-mu
		d4, d5, d6, d7 := c[4]-mu, c[5]-mu, c[6]-mu, c[7]-mu
		s[0] += d0 * d0
		s[1] += d1 * d1
		s[2] += d2 * d2
		s[3] += d3 * d3
		s[4] += d4 * d4
		s[5] += d5 * d5
		s[6] += d6 * d6
		s[7] += d7 * d7
	}
	for ; i < len(x); i++ {
		d := x[i] - mu
		s[i&7] += d * d
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

// Softmax replaces row by exp(row - max)/Σ exp(row - max), in place. A row
// of -Inf only, or with NaN, becomes NaN.
func Softmax(row []float32) {
	if len(row) == 0 {
		return
	}
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	inv := 1 / expShift(row, m)
	for i := range row {
		row[i] *= inv
	}
}

// expShiftGeneric sets x[i] = e^(x[i]-shift) and returns Σ x[i] over four
// partial sums.
func expShiftGeneric(x []float32, shift float32) float32 {
	var s [4]float32
	for i, v := range x {
		e := exp32(v - shift)
		x[i] = e
		s[i&3] += e
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// QuickGELU applies x·σ(1.702x) to x in place. Below x ≈ -51, where the
// result is under 1e-37 in magnitude, the vector path returns a tiny value
// rather than -0.
// Long slices are split across the cores.
func QuickGELU(x []float32) {
	forChunks(len(x), func(lo, hi int) { quickGELU(x[lo:hi]) })
}

func quickGELUGeneric(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + exp32(-1.702*v))
	}
}

// GELU applies the exact x·(1+erf(x/√2))/2 to x in place, within 5 ulp
// (results below 1e-30 in magnitude may flush to 0). Long slices are split
// across the cores.
func GELU(x []float32) {
	forChunks(len(x), func(lo, hi int) { geluVec(x[lo:hi]) })
}

func geluGeneric(x []float32) {
	for i, v := range x {
		x[i] = gelu32(v)
	}
}

// elemParallel is the slice length from which element-wise kernels split
// across goroutines.
const elemParallel = 1 << 15

// forChunks calls f on contiguous ranges covering [0, n), one per core
// when n is large, else once on the calling goroutine.
func forChunks(n int, f func(lo, hi int)) {
	w := workers()
	if n < elemParallel || w <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		lo, hi := n*i/w, n*(i+1)/w
		wg.Go(func() { f(lo, hi) })
	}
	wg.Wait()
}

// forRows calls f on contiguous row ranges covering [0, rows), one per
// core when rows·cols is large, else once on the calling goroutine. Rows
// are independent, so the split does not change the result.
func forRows(rows, cols int, f func(r0, r1 int)) {
	w := min(workers(), rows)
	if rows*cols < elemParallel || w <= 1 {
		f(0, rows)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		r0, r1 := rows*i/w, rows*(i+1)/w
		wg.Go(func() { f(r0, r1) })
	}
	wg.Wait()
}

// Exp is float32 e^x, within 1.5 ulp.
func Exp(x float32) float32 { return exp32(x) }

// Erf is the float32 error function, within 3 ulp.
func Erf(x float32) float32 { return erf32(x) }

// Add sets dst[i] += x[i]. It panics when x is shorter than dst.
func Add(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernels: Add: slice too short")
	}
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}
