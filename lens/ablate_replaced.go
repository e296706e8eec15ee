package lens

import (
	"context"
	"fmt"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

// ReplacedAccuracy is the zero-shot top-1 accuracy, in percent, of ablation
// variant (e) of METHOD.md §2 with the directions r_n replaced by other
// vectors, alongside variants (a), (b) and (e) itself for reference.
type ReplacedAccuracy struct {
	Images int
	// Baseline is (a); MeanAblated is (b); RankOne is (e) with the stats'
	// own directions r_n. They equal the fields of the same names of
	// [Accuracy].
	Baseline, MeanAblated, RankOne float64
	// Replaced[s] is (e) with directions[s]:
	//
	//	(b) + Σ_n ⟨D_n, g_n⟩ g_n,   g_n = row n of directions[s], used as given
	//
	// g_n is not normalized: a sparse reconstruction g_n = γ_n·E of a unit
	// r_n is shorter than r_n when it misses part of it, and the reference
	// evaluates reconstructions this way.
	Replaced []float64
}

// AblateReplaced is [Ablate] for variant (e) with replacement directions:
// for each directions[s], [N, d] like st.Direction, it measures accuracy
// when every centred effect D_n = φ_n - mean_n is replaced by ⟨D_n, g_n⟩ g_n
// (see [ReplacedAccuracy]). All sets share one pass over the images, so a
// whole curve (reconstructions with k = 8, 16, … terms) costs one run.
// Images, labels, classes, cache and options are as for Ablate.
//
// Errors: those of Ablate, and a directions matrix that is not [N, d].
func AblateReplaced(ctx context.Context, m *clip.Model, src Source, labels []int, classes []float32, st *Stats, directions []*mat.Dense, opts ...Option) (*ReplacedAccuracy, error) {
	if err := checkAblation(m, src, labels, classes, st); err != nil {
		return nil, err
	}
	M, d, N, C := src.Len(), m.Config.EmbedDim, m.Config.Vision.MLPWidth, len(classes)/m.Config.EmbedDim
	S := len(directions)
	dirs := make([][]float64, S)
	for s, g := range directions {
		if g == nil {
			return nil, fmt.Errorf("lens: directions %d is nil", s)
		}
		if r, c := g.Dims(); r != N || c != d {
			return nil, fmt.Errorf("lens: directions %d are [%d %d], want [%d %d]", s, r, c, N, d)
		}
		dirs[s] = mat.DenseCopyOf(g).RawMatrix().Data
	}
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
		correct = make([]int, 3+S)
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
		s := 1.0
		if !cfg.raw {
			s = 100 / norm64(f)
		}
		// vs[0] = (a), vs[1] = (b), vs[2] = (e), vs[3+s] = (e) with dirs[s];
		// all but (a) start from rep and subtract Σ D_n below.
		vs := make([][]float64, 3+S)
		for x := range vs {
			vs[x] = make([]float64, d)
			for k, v := range f {
				vs[x][k] = s * float64(v)
			}
		}
		row := make([]float32, d)
		D := make([]float64, d)
		for n := range N {
			u.effectRow(row, n, lv.A[n*K:(n+1)*K], lv.C)
			for k := range d {
				D[k] = float64(row[k]) - mean[n*d+k]
			}
			for x := 1; x < len(vs); x++ {
				var g []float64
				if x == 2 {
					g = dir[n*d : (n+1)*d]
				} else if x > 2 {
					g = dirs[x-3][n*d : (n+1)*d]
				}
				var c float64
				for k, gk := range g {
					c += D[k] * gk
				}
				v := vs[x]
				for k := range d {
					v[k] -= D[k]
				}
				for k, gk := range g {
					v[k] += c * gk
				}
			}
		}
		hit := make([]bool, len(vs))
		for x, v := range vs {
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
	acc := &ReplacedAccuracy{Images: M, Baseline: pct(correct[0]), MeanAblated: pct(correct[1]), RankOne: pct(correct[2]), Replaced: make([]float64, S)}
	for s := range S {
		acc.Replaced[s] = pct(correct[3+s])
	}
	return acc, nil
}
