package decompose

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/lens"
)

// Curve is zero-shot accuracy as a function of the number of terms k when
// every direction r_n is replaced by its k-term reconstruction (METHOD.md §3,
// evaluation). Accuracies are in percent.
type Curve struct {
	Images int
	// Baseline, MeanAblated and RankOne are ablation variants (a), (b) and
	// (e) of METHOD.md §2: the targets the curve moves between.
	Baseline, MeanAblated, RankOne float64
	// Ks are the numbers of terms; Accuracy[i] is variant (e) with every
	// r_n replaced by its Ks[i]-term reconstruction g_n (not renormalized,
	// as in the reference), and MeanCosine[i] the mean over neurons of
	// cos(g_n, r_n).
	Ks         []int
	Accuracy   []float64
	MeanCosine []float64
}

// ReconstructionCurve measures the [Curve] of st's layer for each k of ks:
// it decomposes every r_n with k terms ([DecomposeNeurons]), then runs
// [lens.AblateReplaced] once with all the reconstructions on the images of
// src with true labels (classes is [C, d], unit class embeddings; see
// [lens.Ablate]). Options for the lens (its alpha cache, workers) go in
// [WithLensOptions].
func ReconstructionCurve(ctx context.Context, m *clip.Model, src lens.Source, labels []int, classes []float32, st *lens.Stats, dict *Dictionary, ks []int, opts ...Option) (*Curve, error) {
	if st == nil || st.Direction == nil {
		return nil, fmt.Errorf("decompose: no directions")
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("decompose: no k for the curve")
	}
	cfg := newConfig(opts)
	cv := &Curve{Ks: append([]int(nil), ks...)}
	dirs := make([]*mat.Dense, len(ks))
	for i, k := range ks {
		ds, err := DecomposeNeurons(ctx, dict, st, k, opts...)
		if err != nil {
			return nil, err
		}
		dirs[i] = ds.Reconstructions()
		var c float64
		for _, dec := range ds.Neurons {
			c += dec.Cosine
		}
		cv.MeanCosine = append(cv.MeanCosine, c/float64(len(ds.Neurons)))
	}
	acc, err := lens.AblateReplaced(ctx, m, src, labels, classes, st, dirs, cfg.lensOpts...)
	if err != nil {
		return nil, err
	}
	cv.Images, cv.Baseline, cv.MeanAblated, cv.RankOne, cv.Accuracy = acc.Images, acc.Baseline, acc.MeanAblated, acc.RankOne, acc.Replaced
	return cv, nil
}
