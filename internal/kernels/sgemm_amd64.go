//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run gen_sgemm_amd64.go

// sgemmAVX512x12x32 is the AVX-512 micro-kernel, mr = 12 and nr = 32:
//
//	for i < 12, j < 32: c[i*ldc+j] += Σ_{p<kc} a[p*12+i]·b[p*32+j]
//
//go:noescape
func sgemmAVX512x12x32(kc int, a, b, c *float32, ldc int)

// sgemmAVX512x6x64 is the AVX-512 micro-kernel, mr = 6 and nr = 64:
//
//	for i < 6, j < 64: c[i*ldc+j] += Σ_{p<kc} a[p*6+i]·b[p*64+j]
//
//go:noescape
func sgemmAVX512x6x64(kc int, a, b, c *float32, ldc int)

// sgemmAVX2x6x16 is the AVX2+FMA micro-kernel, mr = 6 and nr = 16:
//
//	for i < 6, j < 16: c[i*ldc+j] += Σ_{p<kc} a[p*6+i]·b[p*16+j]
//
//go:noescape
func sgemmAVX2x6x16(kc int, a, b, c *float32, ldc int)

var (
	avx512Kernel = microKernel{name: "avx512-12x32", mr: 12, nr: 32, fn: func(kc int, a, b, c []float32, ldc int) {
		_, _, _ = a[12*kc-1], b[32*kc-1], c[11*ldc+31]
		sgemmAVX512x12x32(kc, &a[0], &b[0], &c[0], ldc)
	}}
	avx512x6Kernel = microKernel{name: "avx512-6x64", mr: 6, nr: 64, fn: func(kc int, a, b, c []float32, ldc int) {
		_, _, _ = a[6*kc-1], b[64*kc-1], c[5*ldc+63]
		sgemmAVX512x6x64(kc, &a[0], &b[0], &c[0], ldc)
	}}
	avx2Kernel = microKernel{name: "avx2-6x16", mr: 6, nr: 16, fn: func(kc int, a, b, c []float32, ldc int) {
		_, _, _ = a[6*kc-1], b[16*kc-1], c[5*ldc+15]
		sgemmAVX2x6x16(kc, &a[0], &b[0], &c[0], ldc)
	}}
)

// kernelsAvailable lists the micro-kernels this CPU can run, best first.
func kernelsAvailable() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		ks = append(ks, &avx512x6Kernel, &avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &avx2Kernel)
	}
	return append(ks, &genericKernel)
}

// transpose8AVX transposes n8 8×8 blocks with AVX:
//
//	for q < n8, r < 8, c < 8: dst[(8q+c)*ldd + r] = src[r*lds + 8q + c]
//
//go:noescape
func transpose8AVX(n8 int, src *float32, lds int, dst *float32, ldd int)

// transpose8 is transpose8Generic's contract run by the CPU's best code.
var transpose8 = func() func(n8 int, src []float32, lds int, dst []float32, ldd int) {
	if !cpu.X86.HasAVX {
		return transpose8Generic
	}
	return func(n8 int, src []float32, lds int, dst []float32, ldd int) {
		if n8 <= 0 {
			return
		}
		_, _ = src[7*lds+8*n8-1], dst[(8*n8-1)*ldd+7]
		transpose8AVX(n8, &src[0], lds, &dst[0], ldd)
	}
}()
