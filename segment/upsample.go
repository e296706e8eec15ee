package segment

import "fmt"

// Upsample resizes the map src [h, w] (row-major: src[y*w+x]) to a new
// [H, W] map by bilinear interpolation with PyTorch's align_corners=false
// semantics (torch.nn.functional.interpolate, mode "bilinear"): output pixel
// i along an axis of n inputs and m outputs samples the input at
//
//	s = max(0, (i + 0.5)·n/m − 0.5),  i0 = ⌊s⌋,  i1 = min(i0 + 1, n − 1),  λ = s − i0
//	out = (1 − λ)·src[i0] + λ·src[i1]
//
// separably in y and x. It works for shrinking as well as growing and for
// non-integer ratios. Upsample panics if len(src) != h·w or a size is not
// positive.
func Upsample(src []float32, h, w, H, W int) []float32 {
	return UpsampleTo(make([]float32, H*W), src, h, w, H, W)
}

// UpsampleTo is [Upsample] writing into dst [H, W], which it returns. dst
// must not overlap src.
func UpsampleTo(dst, src []float32, h, w, H, W int) []float32 {
	if h <= 0 || w <= 0 || H <= 0 || W <= 0 {
		panic(fmt.Sprintf("segment: Upsample: sizes %d×%d → %d×%d must be positive", h, w, H, W))
	}
	if len(src) != h*w || len(dst) != H*W {
		panic(fmt.Sprintf("segment: Upsample: src has %d values for %d×%d, dst %d for %d×%d", len(src), h, w, len(dst), H, W))
	}
	ys := linearTaps(h, H)
	xs := linearTaps(w, W)
	row := make([]float32, 2*W) // the two source rows, resampled along x
	for oy, ty := range ys {
		r0, r1 := row[:W], row[W:]
		a, b := src[ty.i0*w:(ty.i0+1)*w], src[ty.i1*w:(ty.i1+1)*w]
		for ox, tx := range xs {
			r0[ox] = tx.l0*a[tx.i0] + tx.l1*a[tx.i1]
			r1[ox] = tx.l0*b[tx.i0] + tx.l1*b[tx.i1]
		}
		out := dst[oy*W : (oy+1)*W]
		for ox := range out {
			out[ox] = ty.l0*r0[ox] + ty.l1*r1[ox]
		}
	}
	return dst
}

// linearTap is one output position along an axis: inputs i0, i1 with
// weights l0, l1.
type linearTap struct {
	i0, i1 int
	l0, l1 float32
}

// linearTaps computes PyTorch's align_corners=false source indices and
// weights for n inputs and m outputs, in float32 arithmetic as PyTorch does
// for float32 tensors.
func linearTaps(n, m int) []linearTap {
	scale := float32(n) / float32(m)
	taps := make([]linearTap, m)
	for i := range taps {
		s := scale*(float32(i)+0.5) - 0.5
		if s < 0 {
			s = 0
		}
		i0 := int(s)
		i1 := i0
		if i0 < n-1 {
			i1 = i0 + 1
		}
		l1 := s - float32(i0)
		taps[i] = linearTap{i0: i0, i1: i1, l0: 1 - l1, l1: l1}
	}
	return taps
}
