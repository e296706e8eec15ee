package segment

import (
	"fmt"
	"math"
	"slices"
)

// eps is numpy's np.spacing(1.0), which the reference adds to the
// denominators of pixel accuracy and IoU.
const eps = 0x1p-52

// Metrics accumulates the segmentation metrics of Chefer et al. as the
// reference computes them, over the two classes {background, foreground}.
// Every field is a sum, so shards merge exactly ([Metrics.Merge]); the zero
// value is an empty accumulator.
//
// Per image, with the predicted mask P (Scores > Threshold) and the ground
// truth G:
//
//	Correct += #{P == G};  Labeled += S²
//	Inter[c] += #{P == c and G == c};  Union[c] += #{P == c or G == c}   (c = 0 background, 1 foreground)
//	APSum += AP([1−s, s], [G == 0, G == 1])   (one step-wise AP over the 2·S² scores, see [AveragePrecision])
//
// and over the data set
//
//	PixelAccuracy = Correct / (ε + Labeled)
//	MIoU = mean over c of Inter[c] / (ε + Union[c])
//	MAP = APSum / Images
//
// with ε = 2⁻⁵² (numpy's spacing(1)), as in the reference.
type Metrics struct {
	Images  int      // images added
	Correct int64    // pixels whose predicted class is the true one
	Labeled int64    // pixels counted
	Inter   [2]int64 // per class {background, foreground}: pixels predicted c and truly c
	Union   [2]int64 // per class: pixels predicted c or truly c
	APSum   float64  // sum over images of the per-image average precision

	keys []uint64 // scratch for the AP sort
}

// Add scores one image: h's heatmap against the ground truth mask [S, S]
// (row-major like h.Scores; nonzero = foreground). It panics if the mask's
// length is not S².
func (m *Metrics) Add(h *Heatmap, mask []uint8) {
	n := len(h.Scores)
	if len(mask) != n {
		panic(fmt.Sprintf("segment: Metrics.Add: mask of %d pixels for a %d-pixel heatmap", len(mask), n))
	}
	if cap(m.keys) < 2*n {
		m.keys = make([]uint64, 2*n)
	}
	keys := m.keys[:2*n]
	var correct int64
	var inter, union [2]int64
	for i, s := range h.Scores {
		g := 0
		if mask[i] != 0 {
			g = 1
		}
		p := 0
		if s > h.Threshold {
			p = 1
		}
		if p == g {
			correct++
			inter[g]++
			union[g]++
		} else {
			union[0]++
			union[1]++
		}
		// Channel 0 scores background with 1−s, channel 1 foreground with s.
		s0 := 1 - s
		if h.Flat {
			s0 = 0
		}
		keys[i] = sortKey(s0)<<1 | uint64(1-g)
		keys[n+i] = sortKey(s)<<1 | uint64(g)
	}
	m.Images++
	m.Correct += correct
	m.Labeled += int64(n)
	for c := range 2 {
		m.Inter[c] += inter[c]
		m.Union[c] += union[c]
	}
	m.APSum += apSorted(keys)
}

// Merge adds the sums of o to m.
func (m *Metrics) Merge(o *Metrics) {
	m.Images += o.Images
	m.Correct += o.Correct
	m.Labeled += o.Labeled
	for c := range 2 {
		m.Inter[c] += o.Inter[c]
		m.Union[c] += o.Union[c]
	}
	m.APSum += o.APSum
}

// PixelAccuracy is Correct / (ε + Labeled), in [0, 1].
func (m *Metrics) PixelAccuracy() float64 { return float64(m.Correct) / (eps + float64(m.Labeled)) }

// IoU is the dataset-level intersection over union of class c (0
// background, 1 foreground).
func (m *Metrics) IoU(c int) float64 { return float64(m.Inter[c]) / (eps + float64(m.Union[c])) }

// MIoU is the mean of [Metrics.IoU] over the two classes, in [0, 1].
func (m *Metrics) MIoU() float64 { return (m.IoU(0) + m.IoU(1)) / 2 }

// MAP is the mean per-image average precision, in [0, 1]; NaN with no images.
func (m *Metrics) MAP() float64 { return m.APSum / float64(m.Images) }

// AveragePrecision is scikit-learn's average_precision_score of scores
// against binary labels: with the distinct score values taken as thresholds
// in decreasing order, precision P_k and recall R_k at each,
//
//	AP = Σ_k (R_k − R_{k−1}) · P_k,   R_0 = 0
//
// (the step-wise sum, no interpolation). Ties share one threshold. With no
// positive label it returns 0 (scikit-learn warns and the reference maps
// its NaN to 0). It panics if the lengths differ or a score is NaN.
func AveragePrecision(scores []float32, labels []bool) float64 {
	if len(scores) != len(labels) {
		panic(fmt.Sprintf("segment: AveragePrecision: %d scores, %d labels", len(scores), len(labels)))
	}
	keys := make([]uint64, len(scores))
	for i, s := range scores {
		if s != s {
			panic("segment: AveragePrecision: NaN score")
		}
		var l uint64
		if labels[i] {
			l = 1
		}
		keys[i] = sortKey(s)<<1 | l
	}
	return apSorted(keys)
}

// sortKey maps a float32 to a uint64 whose order is the float order, with
// −0 and +0 equal.
func sortKey(f float32) uint64 {
	if f == 0 {
		f = 0
	}
	b := math.Float32bits(f)
	if b&(1<<31) != 0 {
		b = ^b
	} else {
		b |= 1 << 31
	}
	return uint64(b)
}

// apSorted sorts keys (sortKey(score)<<1 | label) and returns the AP.
func apSorted(keys []uint64) float64 {
	slices.Sort(keys)
	var pos int
	for _, k := range keys {
		pos += int(k & 1)
	}
	if pos == 0 {
		return 0
	}
	var ap, prevRecall float64
	tp, seen := 0, 0
	for i := len(keys) - 1; i >= 0; {
		s := keys[i] >> 1
		for ; i >= 0 && keys[i]>>1 == s; i-- {
			tp += int(keys[i] & 1)
			seen++
		}
		recall := float64(tp) / float64(pos)
		ap += (recall - prevRecall) * float64(tp) / float64(seen)
		prevRecall = recall
	}
	return ap
}
