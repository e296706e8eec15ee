package kernels

import "math"

// Float32 elementary functions for the row operations. They work in
// float32 only (no float64 per element); measured against float64 references
// (mathf_test.go), exp32 stays within 1.5 ulp, erf32 within 3 and gelu32
// within 5; the polynomial coefficients are least-squares
// fits on Chebyshev nodes, made for this package.

const (
	log2e = 1.44269504
	// ln2Hi has 15 significant bits, so k·ln2Hi is exact for |k| < 512.
	ln2Hi = 0.693145751953125
	ln2Lo = 1.42860677e-06
	// expMax is the largest x with e^x < MaxFloat32; expMin the smallest
	// with e^x rounding above 0.
	expMax = 88.7228394
	expMin = -103.972084
	// roundMagic is 1.5·2²³: adding and subtracting it rounds a float32 of
	// magnitude below 2²² to an integer.
	roundMagic = 12582912
)

// expPoly approximates e^r on |r| ≤ ln2/2 (relative error below 1e-7).
var expPoly = [...]float32{1, 1, 0.499999911, 0.166664213, 0.0416683592, 0.00837477762, 0.00138294115}

// exp32 is e^x in float32: +Inf above expMax, 0 below expMin, NaN for NaN.
func exp32(x float32) float32 {
	if !(x <= expMax) { // x > expMax or NaN
		if x > expMax {
			return float32(math.Inf(1))
		}
		return x
	}
	if x < expMin {
		return 0
	}
	return expHiLo(x, 0)
}

// expHiLo is e^(hi+lo) for |lo| ≪ |hi|, with hi in [expMin, expMax]: the
// range reduction subtracts k·ln2 from hi exactly before adding lo, so lo
// keeps bits a float32 sum hi+lo would drop.
func expHiLo(hi, lo float32) float32 {
	k := (hi*log2e + roundMagic) - roundMagic
	r := (hi - k*ln2Hi) - k*ln2Lo + lo
	c := &expPoly
	p := c[0] + r*(c[1]+r*(c[2]+r*(c[3]+r*(c[4]+r*(c[5]+r*c[6])))))
	n := int32(k)
	if n < -125 {
		// 2^n is subnormal or zero: scale in two steps.
		p *= math.Float32frombits(uint32(n+100+127) << 23)
		return p * 0x1p-100
	}
	if n > 127 {
		p *= 2
		n--
	}
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// erfSmall approximates erf(x)/x in t = x² for |x| ≤ 1.
var erfSmall = [...]float32{1.12837911, -0.376123905, 0.112805791, -0.0267208908, 0.00492741773, -0.000566798728}

// erfcMid and erfcTail approximate erfc(x)·e^(x²) in s = 1/x for x in
// [1, 2.5] and [2.5, 10].
var (
	erfcMid  = [...]float32{0.000429424108, 0.556699574, 0.0566253103, -0.522177756, 0.603063107, -0.380773067, 0.134611875, -0.0208949093}
	erfcTail = [...]float32{-5.29108881e-08, 0.56419754, -0.000279759697, -0.277441055, -0.0439398214, 0.673414111, -0.846157253, 0.380466729}
)

// erfSmallX is erf(x) for |x| ≤ 1.
func erfSmallX(x float32) float32 {
	t := x * x
	c := &erfSmall
	return x * (c[0] + t*(c[1]+t*(c[2]+t*(c[3]+t*(c[4]+t*c[5])))))
}

// erfcLow approximates erfc(x)·e^(x²) in x-0.75 for x in [0.5, 1].
var erfcLow = [...]float32{0.506937623, -0.367972851, 0.23095797, -0.129815206, 0.0667915717, -0.0325652994, 0.0144573767}

// erfcR is erfc(x)·e^(x²) for 0.5 ≤ x < 10.
func erfcR(x float32) float32 {
	if x < 1 {
		t, c := x-0.75, &erfcLow
		return c[0] + t*(c[1]+t*(c[2]+t*(c[3]+t*(c[4]+t*(c[5]+t*c[6])))))
	}
	s := 1 / x
	c := &erfcTail
	if x < 2.5 {
		c = &erfcMid
	}
	return c[0] + s*(c[1]+s*(c[2]+s*(c[3]+s*(c[4]+s*(c[5]+s*(c[6]+s*c[7]))))))
}

// splitSq returns hi, lo with hi+lo = x² to about 2⁻³⁵ relative: hi is the
// exact square of x's top 12 significand bits.
func splitSq(x float32) (hi, lo float32) {
	xh := math.Float32frombits(math.Float32bits(x) &^ 0xfff)
	return xh * xh, (x - xh) * (x + xh)
}

// erfcPos is erfc(x) for x ≥ 0.5 (0 from x = 10 on, where it underflows).
// e^(-x²) comes from the split square, since rounding x² to float32 would
// cost x²·2⁻²⁴ of relative error.
func erfcPos(x float32) float32 {
	if x >= 10 {
		return 0
	}
	hi, lo := splitSq(x)
	return expHiLo(-hi, -lo) * erfcR(x)
}

// erfcHalf is erfc(q/√2) for q ≥ 1/√2, with the exponent -q²/2 taken from
// q itself so that the rounding of q/√2 only reaches the smooth factor.
func erfcHalf(q float32) float32 {
	const invSqrt2 = 0.707106781
	u := q * invSqrt2
	if u >= 10 {
		return 0
	}
	hi, lo := splitSq(q)
	return expHiLo(-0.5*hi, -0.5*lo) * erfcR(u)
}

// erf32 is the error function in float32.
func erf32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 1:
		if x >= 4 {
			return 1
		}
		return 1 - erfcPos(x)
	case x < -1:
		if x <= -4 {
			return -1
		}
		return erfcPos(-x) - 1
	}
	return erfSmallX(x)
}

// gelu32 is x·Φ(x) = x·(1+erf(x/√2))/2, through erfc where 1+erf cancels.
func gelu32(x float32) float32 {
	const invSqrt2 = 0.707106781
	u := x * invSqrt2
	switch {
	case u != u:
		return x
	case u > 1:
		if u >= 4 {
			return x
		}
		return x - 0.5*x*erfcHalf(x)
	case u < -0.5:
		return 0.5 * x * erfcHalf(-x)
	}
	return 0.5 * x * (1 + erfSmallX(u))
}
