package kernels

import (
	"math"
	"sync"
)

// attnParallelWork is the T·T·dh·H below which the heads run on one goroutine.
const attnParallelWork = 1 << 20

// AttentionPattern fills scores [H, T, T] with each head's attention
// pattern, softmax(Q_h·K_hᵀ/√dh), where qkv [T, 3D] holds the in-projection
// output: Q_h in columns h·dh.., K_h in D+h·dh.. (dh = D/H). When causal is
// set, key k > query q gets 0. Heads run in parallel; Q and K are read in
// place through strides, never copied. It panics on short slices or when H
// does not divide D.
func AttentionPattern(scores, qkv []float32, T, D, H int, causal bool) {
	checkAttention(scores, qkv, T, D, H)
	dh := D / H
	scale := float32(1 / math.Sqrt(float64(dh)))
	mk := bestKernel
	forHeads(T, dh, H, func(h int) {
		sc := scores[h*T*T : (h+1)*T*T]
		mk.serial(false, true, T, T, dh, scale, qkv[h*dh:], 3*D, qkv[D+h*dh:], 3*D, 0, sc, T)
		for i := range T {
			row := sc[i*T : (i+1)*T]
			if causal {
				Softmax(row[:i+1])
				clear(row[i+1:])
			} else {
				Softmax(row)
			}
		}
	})
}

// AttentionApply writes each head's output P_h·V_h into z [T, D] at
// columns h·dh.., for patterns scores [H, T, T] and V_h in columns
// 2D+h·dh.. of qkv [T, 3D]. It panics as [AttentionPattern] does or when z
// is shorter than T·D.
func AttentionApply(z, scores, qkv []float32, T, D, H int) {
	checkAttention(scores, qkv, T, D, H)
	if len(z) < T*D {
		panic("kernels: AttentionApply: z too short")
	}
	dh := D / H
	mk := bestKernel
	forHeads(T, dh, H, func(h int) {
		mk.serial(false, false, T, dh, T, 1, scores[h*T*T:], T, qkv[2*D+h*dh:], 3*D, 0, z[h*dh:], D)
	})
}

func checkAttention(scores, qkv []float32, T, D, H int) {
	if H <= 0 || D%H != 0 {
		panic("kernels: attention: heads must divide the width")
	}
	if len(scores) < H*T*T || len(qkv) < 3*T*D {
		panic("kernels: attention: slice too short")
	}
}

// forHeads runs f(h) for every head, spread over the available cores when
// the heads are big enough.
func forHeads(T, dh, H int, f func(h int)) {
	w := min(workers(), H)
	if T*T*dh*H < attnParallelWork || w <= 1 {
		for h := range H {
			f(h)
		}
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		wg.Go(func() {
			for h := i; h < H; h += w {
				f(h)
			}
		})
	}
	wg.Wait()
}
