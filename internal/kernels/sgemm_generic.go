package kernels

// genericKernel is the portable micro-kernel: a 4×4 tile of scalar
// accumulators, which the Go compiler keeps in registers.
var genericKernel = microKernel{name: "generic4x4", mr: 4, nr: 4, fn: kernelGeneric4x4}

// kernelGeneric4x4 is the reference micro-kernel:
//
//	for i < 4, j < 4: c[i*ldc+j] += Σ_{p<kc} a[p*4+i]·b[p*4+j]
func kernelGeneric4x4(kc int, a, b, c []float32, ldc int) {
	a, b = a[:4*kc], b[:4*kc]
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p+3 < len(a) && p+3 < len(b); p += 4 {
		a0, a1, a2, a3 := a[p], a[p+1], a[p+2], a[p+3]
		b0, b1, b2, b3 := b[p], b[p+1], b[p+2], b[p+3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r := c[:4]
	r[0], r[1], r[2], r[3] = r[0]+c00, r[1]+c01, r[2]+c02, r[3]+c03
	r = c[ldc : ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+c10, r[1]+c11, r[2]+c12, r[3]+c13
	r = c[2*ldc : 2*ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+c20, r[1]+c21, r[2]+c22, r[3]+c23
	r = c[3*ldc : 3*ldc+4]
	r[0], r[1], r[2], r[3] = r[0]+c30, r[1]+c31, r[2]+c32, r[3]+c33
}

// transpose8Generic transposes n8 blocks of 8×8:
//
//	for q < n8, r < 8, c < 8: dst[(8q+c)*ldd + r] = src[r*lds + 8q + c]
func transpose8Generic(n8 int, src []float32, lds int, dst []float32, ldd int) {
	for r := range 8 {
		s := src[r*lds : r*lds+8*n8]
		for c, v := range s {
			dst[c*ldd+r] = v
		}
	}
}
