//go:build !noasm

#include "textflag.h"

#define DST DI
#define LDC R8
#define R0 SI
#define R1 R12
#define R2 R13
#define R3 R9
#define E0 DX
#define E1 BX
#define LDE R10
#define PAIRS CX
#define END R11
#define OFF AX

// SETUP loads the arguments shared by both kernels.
#define SETUP(shift) \
	MOVQ dst+0(FP), DST          \ // DST = &dst[0]
	MOVQ ldc+8(FP), LDC          \
	SHLQ $shift, LDC             \ // LDC = ldc in bytes
	MOVQ r+16(FP), R0            \ // R0 = &r[0]
	MOVQ ldr+24(FP), R3          \
	SHLQ $shift, R3              \ // R3 = ldr in bytes (for now)
	LEAQ (R0)(R3*1), R1          \ // R1 = &r[ldr]
	LEAQ (R0)(R3*2), R2          \ // R2 = &r[2*ldr]
	LEAQ (R1)(R3*2), R3          \ // R3 = &r[3*ldr]
	MOVQ e+32(FP), E0            \ // E0 = &e[0]
	MOVQ lde+40(FP), LDE         \
	SHLQ $shift, LDE             \ // LDE = lde in bytes
	MOVQ pairs+48(FP), PAIRS     \
	MOVQ chunks+56(FP), END      \
	SHLQ $5, END                   // END = chunks*32 bytes

// STEP multiplies the 32-byte chunk at OFF of the two atom rows by one
// target row and adds the products into that target's two accumulators:
//	accA += round(e0·r), accB += round(e1·r)
#define STEP(MUL, ADD, row, accA, accB) \
	VMOVUPS (row)(OFF*1), Y2     \ // Y2 = r chunk
	MUL Y2, Y0, Y12              \ // Y12 = e0·r
	MUL Y2, Y1, Y13              \ // Y13 = e1·r
	ADD Y12, accA, accA          \
	ADD Y13, accB, accB

// func scan4x2f32(dst *float32, ldc int, r *float32, ldr int, e *float32, lde int, pairs, chunks int)
TEXT ·scan4x2f32(SB), NOSPLIT, $0-64
	SETUP(2)

pair32:
	LEAQ (E0)(LDE*1), E1         // E1 = next atom row
	VXORPS Y4, Y4, Y4            // Y4..Y7: atom 0 × targets 0..3
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8            // Y8..Y11: atom 1 × targets 0..3
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ OFF, OFF

loop32:
	VMOVUPS (E0)(OFF*1), Y0      // Y0 = e0 chunk
	VMOVUPS (E1)(OFF*1), Y1      // Y1 = e1 chunk
	STEP(VMULPS, VADDPS, R0, Y4, Y8)
	STEP(VMULPS, VADDPS, R1, Y5, Y9)
	STEP(VMULPS, VADDPS, R2, Y6, Y10)
	STEP(VMULPS, VADDPS, R3, Y7, Y11)
	ADDQ $32, OFF
	CMPQ OFF, END
	JLT  loop32

	// Lane tree per accumulator: ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)).
	VHADDPS Y5, Y4, Y12          // Y12 = pair sums of t0, t1
	VHADDPS Y7, Y6, Y13          // Y13 = pair sums of t2, t3
	VHADDPS Y13, Y12, Y12        // Y12 = quad sums [t0 t1 t2 t3 | t0 t1 t2 t3]
	VEXTRACTF128 $1, Y12, X13
	VADDPS X13, X12, X12         // X12 = atom 0 dots for t0..t3
	VHADDPS Y9, Y8, Y14
	VHADDPS Y11, Y10, Y15
	VHADDPS Y15, Y14, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPS X15, X14, X14         // X14 = atom 1 dots for t0..t3

	LEAQ (DST)(LDC*2), OFF       // OFF = &dst[2*ldc]
	VMOVSS X12, (DST)            // dst[0*ldc+0]
	VEXTRACTPS $1, X12, (DST)(LDC*1)
	VEXTRACTPS $2, X12, (DST)(LDC*2)
	VEXTRACTPS $3, X12, (OFF)(LDC*1)
	VMOVSS X14, 4(DST)           // dst[0*ldc+1]
	VEXTRACTPS $1, X14, 4(DST)(LDC*1)
	VEXTRACTPS $2, X14, 4(DST)(LDC*2)
	VEXTRACTPS $3, X14, 4(OFF)(LDC*1)

	ADDQ $8, DST                 // next two atoms' columns
	LEAQ (E0)(LDE*2), E0         // next two atom rows
	DECQ PAIRS
	JNZ  pair32
	VZEROUPPER
	RET

// func scan4x2f64(dst *float64, ldc int, r *float64, ldr int, e *float64, lde int, pairs, chunks int)
TEXT ·scan4x2f64(SB), NOSPLIT, $0-64
	SETUP(3)

pair64:
	LEAQ (E0)(LDE*1), E1
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	XORQ OFF, OFF

loop64:
	VMOVUPD (E0)(OFF*1), Y0
	VMOVUPD (E1)(OFF*1), Y1
	STEP(VMULPD, VADDPD, R0, Y4, Y8)
	STEP(VMULPD, VADDPD, R1, Y5, Y9)
	STEP(VMULPD, VADDPD, R2, Y6, Y10)
	STEP(VMULPD, VADDPD, R3, Y7, Y11)
	ADDQ $32, OFF
	CMPQ OFF, END
	JLT  loop64

	// Lane tree per accumulator: (l0+l1) + (l2+l3).
	VHADDPD Y5, Y4, Y12          // Y12 = [t0 01, t1 01, t0 23, t1 23]
	VEXTRACTF128 $1, Y12, X13
	VADDPD X13, X12, X12         // X12 = atom 0 dots for t0, t1
	VHADDPD Y7, Y6, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPD X15, X14, X14         // X14 = atom 0 dots for t2, t3
	LEAQ (DST)(LDC*2), OFF
	VMOVSD X12, (DST)
	VMOVHPD X12, (DST)(LDC*1)
	VMOVSD X14, (DST)(LDC*2)
	VMOVHPD X14, (OFF)(LDC*1)

	VHADDPD Y9, Y8, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPD X13, X12, X12         // atom 1, t0 and t1
	VHADDPD Y11, Y10, Y14
	VEXTRACTF128 $1, Y14, X15
	VADDPD X15, X14, X14         // atom 1, t2 and t3
	VMOVSD X12, 8(DST)
	VMOVHPD X12, 8(DST)(LDC*1)
	VMOVSD X14, 8(DST)(LDC*2)
	VMOVHPD X14, 8(OFF)(LDC*1)

	ADDQ $16, DST
	LEAQ (E0)(LDE*2), E0
	DECQ PAIRS
	JNZ  pair64
	VZEROUPPER
	RET

// func cpuid(op, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL op+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (lo, hi uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, lo+0(FP)
	MOVL DX, hi+4(FP)
	RET
