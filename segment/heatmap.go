package segment

import (
	"fmt"
	"math"
)

// Post says how a patch-grid map becomes a [Heatmap]. The zero value is the
// paper's rule: no clipping, threshold 0.5.
type Post struct {
	// ClipNegative sets negative values to 0 after upsampling, before the
	// min-max normalization (TextSpan's rule).
	ClipNegative bool
	// MeanThreshold thresholds at the mean of the normalized map instead
	// of 0.5 (TextSpan's rule).
	MeanThreshold bool
}

// Heatmap is a score per input pixel for one image and class.
type Heatmap struct {
	// Size is S, the model's input side: the map covers the S×S
	// preprocessed (resized and centre-cropped) image.
	Size int
	// Scores is [S, S], row-major (pixel (x, y) at Scores[y*S+x]),
	// min-max normalized to [0, 1]. A map with no spread (constant, or with a
	// NaN or infinite value, where the reference gets NaN everywhere) is all
	// zeros and Flat is set.
	Scores []float32
	// Flat reports a map with no spread. The reference gets NaN there and
	// maps it to 0 in both of its AP channels, so [Metrics.Add] scores the
	// background channel 0 too instead of 1 − 0.
	Flat bool
	// Threshold separates foreground (Scores > Threshold) from background.
	Threshold float32
}

// NewHeatmap turns a patch-grid map grid [g, g] (row-major: patch row gy,
// column gx at grid[gy*g+gx]) into an S×S heatmap, S = size:
//
//	u = Upsample(grid, g, g, S, S)                 (bilinear, align_corners=false)
//	u = max(u, 0)                                  (only with p.ClipNegative)
//	Scores = (u − min u) / (max u − min u)         (float32, as the reference)
//	Threshold = 0.5, or mean(Scores) with p.MeanThreshold
//
// It panics if len(grid) != g·g or a size is not positive.
func NewHeatmap(grid []float32, g, size int, p Post) *Heatmap {
	if g <= 0 || len(grid) != g*g {
		panic(fmt.Sprintf("segment: NewHeatmap: grid of %d values for a %d×%d grid", len(grid), g, g))
	}
	s := Upsample(grid, g, g, size, size)
	if p.ClipNegative {
		for i, v := range s {
			s[i] = max(v, 0)
		}
	}
	h := &Heatmap{Size: size, Scores: s, Threshold: 0.5, Flat: !normalize(s)}
	if p.MeanThreshold {
		var sum float64
		for _, v := range s {
			sum += float64(v)
		}
		h.Threshold = float32(sum / float64(len(s)))
	}
	return h
}

// normalize min-max normalizes s in place in float32, or zeroes it and
// returns false when the spread is not a positive finite number.
func normalize(s []float32) bool {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	nan := false
	for _, v := range s {
		if v != v {
			nan = true
			break
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	d := hi - lo
	if nan || !(d > 0) || math.IsInf(float64(d), 0) {
		clear(s)
		return false
	}
	for i, v := range s {
		s[i] = (v - lo) / d
	}
	return true
}

// Mask returns the thresholded heatmap, [S, S] like Scores: 1 where
// Scores > Threshold (foreground), else 0.
func (h *Heatmap) Mask() []uint8 {
	m := make([]uint8, len(h.Scores))
	for i, v := range h.Scores {
		if v > h.Threshold {
			m[i] = 1
		}
	}
	return m
}
