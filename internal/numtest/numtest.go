// Package numtest compares float arrays in tests with tolerances, reporting
// how many elements miss and the worst one.
package numtest

import (
	"math"
	"testing"
)

// Float is the element type Close accepts.
type Float interface{ ~float32 | ~float64 }

// Close fails t unless len(got) == len(want) and every element satisfies
// |got-want| ≤ atol + rtol·|want|. NaN equals NaN; ±Inf must match exactly.
func Close[W, G Float](t testing.TB, want []W, got []G, rtol, atol float64, msgAndArgs ...any) bool {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("numtest: length %d, want %d %v", len(got), len(want), msgAndArgs)
		return false
	}
	miss, worst, worstErr := 0, -1, 0.0
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if math.IsInf(w, 0) || math.IsInf(g, 0) {
			if w != g {
				miss++
				worst = i
			}
			continue
		}
		d := math.Abs(g - w)
		if d > atol+rtol*math.Abs(w) || math.IsNaN(d) {
			miss++
			if excess := d - (atol + rtol*math.Abs(w)); worst < 0 || excess > worstErr || math.IsNaN(d) {
				worst, worstErr = i, excess
			}
		}
	}
	if miss > 0 {
		t.Errorf("numtest: %d of %d elements differ (rtol %g, atol %g); worst at %d: got %g, want %g %v",
			miss, len(want), rtol, atol, worst, float64(got[worst]), float64(want[worst]), msgAndArgs)
		return false
	}
	return true
}

// MaxAbsDiff returns max |a[i]-b[i]|; it panics on different lengths.
func MaxAbsDiff[A, B Float](a []A, b []B) float64 {
	if len(a) != len(b) {
		panic("numtest: MaxAbsDiff: different lengths")
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// Norm returns the Euclidean norm of a.
func Norm[A Float](a []A) float64 {
	s := 0.0
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}
