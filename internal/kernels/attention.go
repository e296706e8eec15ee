package kernels

import (
	"math"
	"sync"
)

// attnParallelWork is the Σ T²·dh·H below which the heads run on one goroutine.
const attnParallelWork = 1 << 20

// AttentionPattern fills scores [H, T, T] with each head's attention
// pattern, softmax(Q_h·K_hᵀ/√dh), where qkv [T, 3D] holds the in-projection
// output: Q_h in columns h·dh.., K_h in D+h·dh.. (dh = D/H). When causal is
// set, key k > query q gets 0. Heads run in parallel; Q and K are read in
// place through strides, never copied. It panics on short slices or when H
// does not divide D.
func AttentionPattern(scores, qkv []float32, T, D, H int, causal bool) {
	lens := [1]int{T}
	PackedAttentionPattern(scores, qkv, lens[:], D, H, causal)
}

// AttentionApply writes each head's output P_h·V_h into z [T, D] at
// columns h·dh.., for patterns scores [H, T, T] and V_h in columns
// 2D+h·dh.. of qkv [T, 3D]. It panics as [AttentionPattern] does or when z
// is shorter than T·D.
func AttentionApply(z, scores, qkv []float32, T, D, H int) {
	lens := [1]int{T}
	PackedAttentionApply(z, scores, qkv, lens[:], D, H)
}

// PackedAttentionPattern is [AttentionPattern] for B = len(lens) sequences
// packed back to back, each attending only to itself. Sequence b has
// T_b = lens[b] tokens at rows r_b = Σ_{i<b} T_i of qkv [R, 3D]
// (R = Σ T_b), and its patterns [H, T_b, T_b] start at scores[H·s_b] with
// s_b = Σ_{i<b} T_i²:
//
//	scores[H·s_b + (h·T_b+q)·T_b + k] = softmax_k(Q_h[r_b+q]·K_h[r_b+k]/√dh)
//
// The causal mask, when set, is per sequence. (sequence, head) pairs run
// in parallel. It panics on short slices, a negative length, or when H
// does not divide D.
func PackedAttentionPattern(scores, qkv []float32, lens []int, D, H int, causal bool) {
	R, S := checkPacked(scores, qkv, lens, D, H)
	if R == 0 {
		return
	}
	dh := D / H
	scale := float32(1 / math.Sqrt(float64(dh)))
	mk := bestKernel
	forSeqHeads(lens, dh, H, S, func(r, s, T, h int) {
		sc := scores[H*s+h*T*T : H*s+(h+1)*T*T]
		q := qkv[r*3*D:]
		mk.serial(false, true, T, T, dh, scale, q[h*dh:], 3*D, q[D+h*dh:], 3*D, 0, sc, T)
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

// PackedAttentionApply is [AttentionApply] for sequences packed as
// [PackedAttentionPattern] describes: z [R, D] gets, at row r_b+q and
// columns h·dh.., Σ_k P_{b,h}[q, k]·V_h[r_b+k]. It panics as
// PackedAttentionPattern does or when z is shorter than R·D.
func PackedAttentionApply(z, scores, qkv []float32, lens []int, D, H int) {
	R, S := checkPacked(scores, qkv, lens, D, H)
	if len(z) < R*D {
		panic("kernels: AttentionApply: z too short")
	}
	if R == 0 {
		return
	}
	dh := D / H
	mk := bestKernel
	forSeqHeads(lens, dh, H, S, func(r, s, T, h int) {
		mk.serial(false, false, T, dh, T, 1, scores[H*s+h*T*T:], T, qkv[r*3*D+2*D+h*dh:], 3*D, 0, z[r*D+h*dh:], D)
	})
}

// checkPacked panics unless the packed attention arguments fit, and
// returns R = Σ T_b and S = Σ T_b².
func checkPacked(scores, qkv []float32, lens []int, D, H int) (R, S int) {
	if H <= 0 || D%H != 0 {
		panic("kernels: attention: heads must divide the width")
	}
	for _, T := range lens {
		if T < 0 {
			panic("kernels: attention: negative sequence length")
		}
		R += T
		S += T * T
	}
	if len(scores) < H*S || len(qkv) < 3*R*D {
		panic("kernels: attention: slice too short")
	}
	return R, S
}

// forSeqHeads calls f(r, s, T, h) for every sequence (T tokens from row r,
// with s = Σ T_i² over the earlier sequences) and head h. The B·H pairs are
// split into contiguous ranges, one per core, when the work is large
// enough; every pair writes its own memory, so the split does not change
// the result.
func forSeqHeads(lens []int, dh, H, S int, f func(r, s, T, h int)) {
	units := len(lens) * H
	w := min(workers(), units)
	if S*dh*H < attnParallelWork || w <= 1 {
		w = 1
	}
	// Each worker walks the sequences up to its first unit; B is small.
	run := func(u0, u1 int) {
		r, s := 0, 0
		for b, T := range lens {
			if (b+1)*H <= u0 {
				r, s = r+T, s+T*T
				continue
			}
			if b*H >= u1 {
				return
			}
			for h := max(u0-b*H, 0); h < min(u1-b*H, H); h++ {
				f(r, s, T, h)
			}
			r, s = r+T, s+T*T
		}
	}
	if w == 1 {
		run(0, units)
		return
	}
	var wg sync.WaitGroup
	for i := range w {
		u0, u1 := units*i/w, units*(i+1)/w
		wg.Go(func() { run(u0, u1) })
	}
	wg.Wait()
}
