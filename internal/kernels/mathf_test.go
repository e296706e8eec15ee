package kernels

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// ulps is |got-want| in units of the float32 spacing at want.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	if float64(got) == want || got == w {
		return 0
	}
	up := math.Nextafter32(float32(math.Abs(want)), float32(math.Inf(1))) - float32(math.Abs(want))
	if up == 0 || math.IsInf(float64(up), 0) {
		up = math.SmallestNonzeroFloat32
	}
	return math.Abs(float64(got)-want) / float64(up)
}

// sweep calls f on a dense grid of float32 values in [lo, hi].
func sweep(lo, hi float32, n int, f func(x float32)) {
	for i := 0; i <= n; i++ {
		f(lo + (hi-lo)*float32(i)/float32(n))
	}
}

func TestExp32(t *testing.T) {
	worst := 0.0
	sweep(-103, 88.7, 2_000_000, func(x float32) {
		want := math.Exp(float64(x))
		if want < 0x1p-126 {
			// Subnormal results: absolute error within half the smallest step.
			if d := math.Abs(float64(exp32(x)) - want); d > 0x1p-149 {
				t.Fatalf("exp32(%g) = %g, want %g", x, exp32(x), want)
			}
			return
		}
		worst = math.Max(worst, ulps(exp32(x), want))
	})
	t.Logf("exp32 worst error %.2f ulp", worst)
	assert.LessOrEqual(t, worst, 2.0)
	assert.True(t, math.IsInf(float64(exp32(89)), 1))
	assert.Equal(t, float32(0), exp32(-104))
	assert.True(t, math.IsNaN(float64(exp32(float32(math.NaN())))))
	assert.Equal(t, float32(1), exp32(0))
	assert.True(t, math.IsInf(float64(Exp(float32(math.Inf(1)))), 1))
	assert.Equal(t, float32(0), Exp(float32(math.Inf(-1))))
}

func TestErf32(t *testing.T) {
	worst := 0.0
	sweep(-5, 5, 2_000_000, func(x float32) {
		if u := ulps(erf32(x), math.Erf(float64(x))); u > worst {
			worst = u
		}
	})
	t.Logf("erf32 worst error %.2f ulp", worst)
	assert.LessOrEqual(t, worst, 3.0)
	assert.True(t, math.IsNaN(float64(erf32(float32(math.NaN())))))
	assert.Equal(t, float32(1), erf32(float32(math.Inf(1))))
	assert.Equal(t, float32(-1), erf32(float32(math.Inf(-1))))
}

func TestGELU32(t *testing.T) {
	worst := 0.0
	sweep(-14, 14, 2_000_000, func(x float32) {
		xd := float64(x)
		want := 0.5 * xd * math.Erfc(-xd/math.Sqrt2)
		if math.Abs(want) < 1e-30 {
			return
		}
		if u := ulps(gelu32(x), want); u > worst {
			worst = u
		}
	})
	t.Logf("gelu32 worst error %.2f ulp", worst)
	assert.LessOrEqual(t, worst, 5.0)
	assert.Equal(t, float32(100), gelu32(100))
	assert.Equal(t, float32(0), gelu32(-100))
}

// TestVectorExp compares the CPU's expShift and quickGELU with the generic
// loops over every length up to 2·8+1 and with special values.
func TestVectorExp(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	special := []float32{0, -0.5, 3, -50, -86.9, -87.5, -200, 87.9, float32(math.Inf(-1)), -inf + 1, 1e-30}
	for n := 0; n <= 17; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = special[i%len(special)] - float32(i)*0.37
		}
		got, want := append([]float32(nil), x...), append([]float32(nil), x...)
		sg, sw := expShift(got, 1.5), expShiftGeneric(want, 1.5)
		for i := range x {
			if want[i] < 1e-37 {
				assert.InDelta(t, 0, got[i], 2e-37, "n=%d i=%d x=%g", n, i, x[i])
				continue
			}
			assert.InEpsilon(t, want[i], got[i], 3e-7, "n=%d i=%d x=%g", n, i, x[i])
		}
		assert.InDelta(t, sw, sg, 1e-6*float64(sw)+1e-37, "sum n=%d", n)

		got, want = append([]float32(nil), x...), append([]float32(nil), x...)
		quickGELU(got)
		quickGELUGeneric(want)
		for i := range x {
			if math.IsInf(float64(x[i]), 0) {
				continue // ±Inf·σ(±Inf): NaN in the generic loop, ±Inf in the vector one
			}
			assert.InDelta(t, want[i], got[i], 3e-7*math.Abs(float64(want[i]))+1e-30, "quick n=%d i=%d x=%g", n, i, x[i])
		}
	}
	x := []float32{nan, 0, 1, 2, 3, 4, 5, 6, 7, inf}
	expShift(x, 0)
	assert.True(t, math.IsNaN(float64(x[0])), "NaN stays NaN")
	assert.False(t, math.IsNaN(float64(x[9])))
}

// TestVectorGELU compares the CPU's GELU with gelu32 on a dense sweep, over
// the lengths around the vector width, and on special values.
func TestVectorGELU(t *testing.T) {
	var x []float32
	sweep(-20, 20, 400_003, func(v float32) { x = append(x, v) })
	x = append(x, 0, -0.5*math.Sqrt2, math.Sqrt2, 4*math.Sqrt2, -10*math.Sqrt2, float32(math.Inf(1)), float32(math.NaN()))
	got, want := append([]float32(nil), x...), append([]float32(nil), x...)
	geluVec(got)
	geluGeneric(want)
	worst := 0.0
	for i, v := range x {
		if math.IsNaN(float64(want[i])) {
			assert.True(t, math.IsNaN(float64(got[i])), "x=%g", v)
			continue
		}
		if math.Abs(float64(want[i])) < 1e-30 {
			assert.InDelta(t, 0, got[i], 1e-30, "x=%g", v)
			continue
		}
		xd := float64(v)
		if ref := 0.5 * xd * math.Erfc(-xd/math.Sqrt2); !math.IsInf(ref, 0) && math.Abs(ref) >= 1e-30 {
			worst = math.Max(worst, ulps(got[i], ref))
		}
	}
	t.Logf("vector GELU vs float64: worst %.2f ulp", worst)
	assert.LessOrEqual(t, worst, 5.0)
	for n := 0; n <= 17; n++ {
		g, w := append([]float32(nil), x[1000:1000+n]...), append([]float32(nil), x[1000:1000+n]...)
		geluVec(g)
		geluGeneric(w)
		for i := range g {
			assert.InDelta(t, w[i], g[i], 1e-6*math.Abs(float64(w[i]))+1e-30, "n=%d i=%d", n, i)
		}
	}
}
