//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run gen_exp_amd64.go

// expShiftAVX2 is expShiftGeneric on 8·n8 elements with AVX2 and FMA,
// leaving the 8 lane sums in sums. Lanes whose result is below e^-87
// become 0 and arguments above 88 give e^88.
//
//go:noescape
func expShiftAVX2(x *float32, n8 int, shift float32, sums *[8]float32)

// quickGELUAVX2 is quickGELUGeneric on 8·n8 elements with AVX2 and FMA.
//
//go:noescape
func quickGELUAVX2(x *float32, n8 int)

// geluAVX2 is gelu32 on 8·n8 elements with AVX2 and FMA.
//
//go:noescape
func geluAVX2(x *float32, n8 int)

var hasVecExp = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// expShift sets x[i] = e^(x[i]-shift) and returns Σ x[i].
var expShift = func() func(x []float32, shift float32) float32 {
	if !hasVecExp {
		return expShiftGeneric
	}
	return func(x []float32, shift float32) float32 {
		n8 := len(x) / 8
		var sums [8]float32
		if n8 > 0 {
			expShiftAVX2(&x[0], n8, shift, &sums)
		}
		tail := expShiftGeneric(x[8*n8:], shift)
		return ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7])) + tail
	}
}()

// quickGELU sets x[i] = x[i]·σ(1.702·x[i]).
var quickGELU = func() func(x []float32) {
	if !hasVecExp {
		return quickGELUGeneric
	}
	return func(x []float32) {
		n8 := len(x) / 8
		if n8 > 0 {
			quickGELUAVX2(&x[0], n8)
		}
		quickGELUGeneric(x[8*n8:])
	}
}()

// geluVec sets x[i] = gelu32(x[i]).
var geluVec = func() func(x []float32) {
	if !hasVecExp {
		return geluGeneric
	}
	return func(x []float32) {
		n8 := len(x) / 8
		if n8 > 0 {
			geluAVX2(&x[0], n8)
		}
		geluGeneric(x[8*n8:])
	}
}()
