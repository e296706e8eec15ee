package kernels

import "math"

// LayerNorm normalizes each row of x [rows, cols] into dst:
//
//	μ = mean(x_r),  σ = sqrt(mean((x_r-μ)²) + eps)
//	dst_r = (x_r - μ)/σ · gamma + beta
//
// and stores μ and σ per row in mean and sigma when they are non-nil. The
// statistics accumulate in float64. dst may alias x.
func LayerNorm(dst, x []float32, rows, cols int, gamma, beta []float32, eps float32, mean, sigma []float32) {
	if len(x) < rows*cols || len(dst) < rows*cols || len(gamma) < cols || len(beta) < cols {
		panic("kernels: LayerNorm: slice too short")
	}
	for r := 0; r < rows; r++ {
		row := x[r*cols : (r+1)*cols]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(cols)
		var ss float64
		for _, v := range row {
			d := float64(v) - mu
			ss += d * d
		}
		sd := math.Sqrt(ss/float64(cols) + float64(eps))
		m32, inv := float32(mu), float32(1/sd)
		out := dst[r*cols : (r+1)*cols]
		for i, v := range row {
			out[i] = (v-m32)*inv*gamma[i] + beta[i]
		}
		if mean != nil {
			mean[r] = m32
		}
		if sigma != nil {
			sigma[r] = float32(sd)
		}
	}
}

// Softmax replaces row by exp(row - max)/Σ exp(row - max), in place.
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
	var s float32
	for i, v := range row {
		e := Exp(v - m)
		row[i] = e
		s += e
	}
	inv := 1 / s
	for i := range row {
		row[i] *= inv
	}
}

// QuickGELU applies x·σ(1.702x) to x in place.
func QuickGELU(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + Exp(-1.702*v))
	}
}

// GELU applies the exact x·(1+erf(x/√2))/2 to x in place.
func GELU(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// Exp is float32 e^x.
func Exp(x float32) float32 { return float32(math.Exp(float64(x))) }

// Add sets dst[i] += x[i].
func Add(dst, x []float32) {
	if len(x) < len(dst) {
		panic("kernels: Add: slice too short")
	}
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}
