package lens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

// Accuracy is the zero-shot top-1 accuracy, in percent, of the ablations of
// METHOD.md §2 on one layer. With rep = 100·f/‖f‖ (or f in raw units) and
// D_n = φ_n - mean_n the centred second-order effects:
type Accuracy struct {
	Images int
	// Baseline is (a): rep.
	Baseline float64
	// MeanAblated is (b): rep - Σ_n φ_n + Σ_n mean_n, every second-order
	// effect replaced by its mean.
	MeanAblated float64
	// WithoutSignificant is (c): (b) + Σ of the insignificant D_n, that is
	// only the significant effects ablated.
	WithoutSignificant float64
	// WithoutInsignificant is (d): (b) + Σ of the significant D_n.
	WithoutInsignificant float64
	// RankOne is (e): (b) + Σ_n ⟨D_n, r_n⟩ r_n, each effect replaced by its
	// rank-1 model.
	RankOne float64
}

// Ablate measures zero-shot accuracy on the images of src with true class
// labels[i] (0 ≤ label < C) under the five variants of [Accuracy], for the
// layer and units of st. classes is [C, d], row-major: the unit text
// embeddings of the C classes; the predicted class maximizes ⟨v, classes_c⟩.
//
// Each image needs its effects again: they are rebuilt from the alpha-space
// record of the image, read from the cache of [WithCache] when it holds one
// (an [Analyze] run over the same images with the same options and layers
// including st.Layer) or else computed with one forward pass and stored.
// The images are spread over [WithWorkers]; ctx cancels between images.
func Ablate(ctx context.Context, m *clip.Model, src Source, labels []int, classes []float32, st *Stats, opts ...Option) (*Accuracy, error) {
	if err := checkAblation(m, src, labels, classes, st); err != nil {
		return nil, err
	}
	M, d, N, C := src.Len(), m.Config.EmbedDim, m.Config.Vision.MLPWidth, len(classes)/m.Config.EmbedDim
	cfg := newConfig(opts)
	run, j, err := openAblation(m, src, st, cfg)
	if err != nil {
		return nil, err
	}
	defer run.close()
	u := run.us[j]
	K := u.K
	mean, dir := st.Mean.RawMatrix().Data, st.Direction.RawMatrix().Data
	var (
		mu      sync.Mutex
		correct [5]int
		done    int
	)
	meter := newMeter(cfg.progress, "ablate", M)
	err = parallel.For(ctx, M, cfg.workers, func(w, i int) error {
		_, rec, _, err := run.get(ctx, w, i)
		if err != nil {
			return err
		}
		f, ls := run.cache.split(rec)
		lv := ls[j]
		rep := make([]float64, d)
		s := 1.0
		if !cfg.raw {
			s = 100 / norm64(f)
		}
		for k, v := range f {
			rep[k] = s * float64(v)
		}
		all, sig, pc := make([]float64, d), make([]float64, d), make([]float64, d)
		row := make([]float32, d)
		D := make([]float64, d)
		for n := range N {
			u.effectRow(row, n, lv.A[n*K:(n+1)*K], lv.C)
			var nn, coef float64
			for k := range d {
				D[k] = float64(row[k]) - mean[n*d+k]
				nn += D[k] * D[k]
				coef += D[k] * dir[n*d+k]
			}
			significant := sqrt(nn) > st.Threshold[n]
			for k := range d {
				all[k] += D[k]
				if significant {
					sig[k] += D[k]
				}
				pc[k] += coef * dir[n*d+k]
			}
		}
		b := make([]float64, d)
		for k := range d {
			b[k] = rep[k] - all[k]
		}
		variants := [5]func(k int) float64{
			func(k int) float64 { return rep[k] },
			func(k int) float64 { return b[k] },
			func(k int) float64 { return b[k] + all[k] - sig[k] },
			func(k int) float64 { return b[k] + sig[k] },
			func(k int) float64 { return b[k] + pc[k] },
		}
		var hit [5]bool
		v := make([]float64, d)
		for x, fn := range variants {
			for k := range d {
				v[k] = fn(k)
			}
			hit[x] = argmaxClass(v, classes, C) == labels[i]
		}
		mu.Lock()
		defer mu.Unlock()
		for x, h := range hit {
			if h {
				correct[x]++
			}
		}
		done++
		meter.report(done)
		return nil
	})
	if err != nil {
		return nil, err
	}
	pct := func(c int) float64 { return 100 * float64(c) / float64(M) }
	return &Accuracy{Images: M, Baseline: pct(correct[0]), MeanAblated: pct(correct[1]),
		WithoutSignificant: pct(correct[2]), WithoutInsignificant: pct(correct[3]), RankOne: pct(correct[4])}, nil
}

// argmaxClass returns the class c maximizing ⟨v, classes[c]⟩ (the first on ties).
func argmaxClass(v []float64, classes []float32, C int) int {
	d := len(v)
	best, bestV := 0, 0.0
	for c := range C {
		var s float64
		for k, x := range classes[c*d : (c+1)*d] {
			s += float64(x) * v[k]
		}
		if c == 0 || s > bestV {
			best, bestV = c, s
		}
	}
	return best
}

// checkAblation checks the arguments Ablate and AblateReplaced share.
func checkAblation(m *clip.Model, src Source, labels []int, classes []float32, st *Stats) error {
	if st == nil {
		return errors.New("lens: nil stats")
	}
	if err := checkModel(m, st.Layer); err != nil {
		return err
	}
	if src == nil || src.Len() == 0 {
		return errors.New("lens: empty image source")
	}
	M, d, N := src.Len(), m.Config.EmbedDim, m.Config.Vision.MLPWidth
	if len(labels) != M {
		return fmt.Errorf("lens: %d labels for %d images", len(labels), M)
	}
	if len(classes) == 0 || len(classes)%d != 0 {
		return fmt.Errorf("lens: classifier has %d values, want [C %d]", len(classes), d)
	}
	C := len(classes) / d
	for i, l := range labels {
		if l < 0 || l >= C {
			return fmt.Errorf("lens: label %d of image %d out of range [0, %d)", l, i, C)
		}
	}
	if n, dd := st.Mean.Dims(); n != N || dd != d {
		return fmt.Errorf("lens: stats are [%d %d], the model's layer is [%d %d]", n, dd, N, d)
	}
	return nil
}

// openAblation sets cfg's units to those of st, resolves the layers an
// ablation pass runs (st's layer, or [WithLayers] to share an Analyze cache
// made for several layers) and opens the runner; j is st's layer's index
// among them.
func openAblation(m *clip.Model, src Source, st *Stats, cfg *config) (run *runner, j int, err error) {
	cfg.raw, cfg.noShared = st.RawScale, st.WithoutSharedTerm
	layers := []int{st.Layer}
	if cfg.layers != nil {
		layers = cfg.layers
	}
	j = slices.Index(layers, st.Layer)
	if j < 0 {
		return nil, 0, fmt.Errorf("lens: layers %v do not include the stats' layer %d", layers, st.Layer)
	}
	if err := checkModel(m, layers...); err != nil {
		return nil, 0, err
	}
	run, err = newRunner(m, src, layers, cfg)
	return run, j, err
}
