package lens

import (
	"context"
	"errors"
	"fmt"
	"github.com/neuronlens/neuronlens/internal/parallel"
	"os"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/kernels"
)

// Analyze streams the images of src through m and returns, for each layer
// of [WithLayers] (default 9), the per-neuron statistics of the
// second-order effects over the images (METHOD.md §2; see [Stats]).
//
// It runs in three phases. (1) One forward pass per image, spread over
// [WithWorkers] goroutines; each image's alpha-space record (A = s·α
// [N, K], U_n C(I) [N, K], C(I) [d] per layer, and f(I)) goes to a cache of
// atomic .npy files ([WithCache]; a temporary directory by default) and
// into the mergeable [Sums]. (2) The records are read back and every
// neuron's centred norm is computed in alpha-space; [Tops] keeps the top k
// ([WithK], default 100). (3) Per neuron, the k centred effects are rebuilt
// and their first right singular vector is found with gonum's SVD.
//
// Memory does not grow with the number of images beyond their ids: it is
// the model, the u vectors and Gram matrices of the layers (453 MB + 50 MB
// for ViT-B/32 layers 8–10) and the top-k state, N·k·(K floats) plus the
// C(I) of the images some neuron keeps. The cache takes d + Σ(2NK + d)
// float32s per image (1.8 MB for ViT-B/32 layers 8–10).
//
// ctx cancels between images; a run with the same cache directory then
// resumes, reusing every finished image. Progress goes to [WithProgress].
// Errors: bad model or layers, an empty source, k < 1, unreadable images,
// a cache made for another model or options.
func Analyze(ctx context.Context, m *clip.Model, src Source, opts ...Option) (*Results, error) {
	cfg := newConfig(opts)
	layers := cfg.layers
	if layers == nil {
		layers = []int{9}
	}
	if err := checkModel(m, layers...); err != nil {
		return nil, err
	}
	layers = slices.Clone(layers)
	slices.Sort(layers)
	layers = slices.Compact(layers)
	if cfg.k < 1 {
		return nil, fmt.Errorf("lens: k = %d, want at least 1", cfg.k)
	}
	if src == nil || src.Len() == 0 {
		return nil, errors.New("lens: empty image source")
	}
	M := src.Len()
	dev, err := openAccel(m, cfg)
	if err != nil {
		return nil, err
	}
	if dev != nil {
		defer dev.close()
	}
	run, err := newRunner(m, src, layers, cfg)
	if err != nil {
		return nil, err
	}
	defer run.close()

	// Phase 1: forward passes and sums, merged in chunk order so that the
	// result does not depend on scheduling.
	const chunk = 8
	ids := make([]string, M)
	sums := make([]*Sums, len(layers))
	for j, u := range run.us {
		sums[j] = NewSums(u.layer, u.N, u.K, u.d)
	}
	var (
		mu      sync.Mutex
		pending = map[int][]*Sums{}
		next    int
		done    int
	)
	meter := newMeter(cfg.progress, "effects", M)
	nChunks := (M + chunk - 1) / chunk
	cpuChunk := func(w, ch int) error {
		local := make([]*Sums, len(layers))
		for j, u := range run.us {
			local[j] = NewSums(u.layer, u.N, u.K, u.d)
		}
		for i := ch * chunk; i < min(M, (ch+1)*chunk); i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			id, rec, cached, err := run.get(ctx, w, i)
			if err != nil {
				return err
			}
			ids[i] = id
			_, ls := run.cache.split(rec)
			for j := range layers {
				local[j].add(ls[j].A, ls[j].W, ls[j].C)
			}
			mu.Lock()
			done++
			if cached {
				meter.skip++
			}
			meter.report(done)
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		pending[ch] = local
		for p, ok := pending[next]; ok; p, ok = pending[next] {
			for j := range layers {
				sums[j].Merge(p[j])
			}
			delete(pending, next)
			next++
		}
		return nil
	}
	if dev != nil {
		err = run.onDevice(ctx, dev, ids, sums, meter)
	} else {
		err = parallel.For(ctx, nChunks, cfg.workers, cpuChunk)
	}
	if err != nil {
		return nil, err
	}

	// Phase 2: centred norms in alpha-space, top-k per neuron.
	tops := make([]*Tops, len(layers))
	type meanState struct{ a, w, c []float64 }
	ms := make([]meanState, len(layers))
	for j, u := range run.us {
		tops[j] = NewTops(u.layer, u.N, u.K, u.d, cfg.k)
		ms[j].a, ms[j].w, ms[j].c = sums[j].means()
	}
	meter = newMeter(cfg.progress, "norms", M)
	done = 0
	tmu := make([]sync.Mutex, len(layers))
	err = parallel.For(ctx, M, cfg.workers, func(w, i int) error {
		rec, ok := run.cache.load(i, ids[i])
		if !ok {
			return fmt.Errorf("lens: cache: record of image %d (%s) vanished", i, ids[i])
		}
		_, ls := run.cache.split(rec)
		for j, u := range run.us {
			norms := run.norms(j, ls[j], ms[j].a, ms[j].w, ms[j].c)
			tmu[j].Lock()
			tops[j].addImage(i, norms, ls[j].A, ls[j].C)
			tmu[j].Unlock()
			_ = u
		}
		mu.Lock()
		done++
		meter.report(done)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range tops {
		t.prune()
	}

	// Phase 3: means, directions.
	res := &Results{IDs: ids, K: min(cfg.k, M), RawScale: cfg.raw, WithoutSharedTerm: cfg.noShared}
	for j, u := range run.us {
		st, err := finish(ctx, u, sums[j], tops[j], cfg)
		if err != nil {
			return nil, err
		}
		res.Layers = append(res.Layers, st)
	}
	return res, nil
}

// runner holds what the streaming passes share: the model, the source, the
// u vectors and Gram matrices, the cache and per-worker captures.
type runner struct {
	m      *clip.Model
	src    Source
	cfg    *config
	us     []*secondU
	grams  [][]float64
	cache  *cache
	caps   []*capture
	layers []int
	temp   string
	// The device path's recycled records and pixels.
	recPool, pxPool *floatPool
}

func newRunner(m *clip.Model, src Source, layers []int, cfg *config) (*runner, error) {
	r := &runner{m: m, src: src, cfg: cfg, layers: layers, caps: make([]*capture, cfg.workers)}
	Ks := make([]int, len(layers))
	for j, l := range layers {
		u, err := secondOf(m, l)
		if err != nil {
			return nil, err
		}
		G, err := gramOf(m, l)
		if err != nil {
			return nil, err
		}
		r.us, r.grams, Ks[j] = append(r.us, u), append(r.grams, G), u.K
	}
	dir := cfg.cacheDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "neuronlens-lens-")
		if err != nil {
			return nil, fmt.Errorf("lens: %w", err)
		}
		r.temp, dir = tmp, tmp
	}
	c, err := openCache(dir, m, layers, Ks, cfg)
	if err != nil {
		r.close()
		return nil, err
	}
	r.cache = c
	return r, nil
}

func (r *runner) close() {
	if r.temp != "" {
		os.RemoveAll(r.temp)
	}
}

// get returns the id and flat record of image i, from the cache or computed
// by worker w (and then stored); cached reports which.
func (r *runner) get(ctx context.Context, w, i int) (id string, rec []float32, cached bool, err error) {
	id, err = idOf(r.src, i)
	if err != nil {
		return "", nil, false, fmt.Errorf("lens: image %d: %w", i, err)
	}
	if rec, ok := r.cache.load(i, id); ok {
		return id, rec, true, nil
	}
	id, img, err := r.src.Image(i)
	if err != nil {
		return "", nil, false, fmt.Errorf("lens: image %d (%s): %w", i, id, err)
	}
	px, err := clip.Preprocess(img, r.m.Config.Vision.ImageSize)
	if err != nil {
		return "", nil, false, fmt.Errorf("lens: image %d (%s): %w", i, id, err)
	}
	if r.caps[w] == nil {
		r.caps[w] = newCapture(r.m, r.layers)
	}
	if err := r.caps[w].run(ctx, r.m, px); err != nil {
		return "", nil, false, fmt.Errorf("lens: image %d (%s): %w", i, id, err)
	}
	rec = make([]float32, r.cache.size)
	r.cache.compute(rec, r.caps[w], r.us, r.cfg)
	if err := r.cache.store(i, id, rec); err != nil {
		return "", nil, false, err
	}
	return id, rec, false, nil
}

// norms returns the centred norms ‖φ_n - mean_n‖ [N] of one image and layer.
func (r *runner) norms(j int, lv layerView, abar, wbar, cbar []float64) []float64 {
	u, G := r.us[j], r.grams[j]
	N, K := u.N, u.K
	var cc float64
	for i, v := range lv.C {
		d := float64(v) - cbar[i]
		cc += d * d
	}
	out := make([]float64, N)
	beta := make([]float64, K)
	for n := range N {
		out[n] = sqrt(centredNorm2(G[n*K*K:(n+1)*K*K], lv.A[n*K:(n+1)*K], abar[n*K:(n+1)*K],
			lv.W[n*K:(n+1)*K], wbar[n*K:(n+1)*K], cc, beta))
	}
	return out
}

// finish turns merged sums and tops into Stats: means, thresholds,
// significance and directions.
func finish(ctx context.Context, u *secondU, s *Sums, t *Tops, cfg *config) (*Stats, error) {
	N, K, d := u.N, u.K, u.d
	abar, _, cbar := s.means()
	k := min(t.k, s.Count)
	st := &Stats{Layer: u.layer, Images: s.Count, K: k, RawScale: cfg.raw, WithoutSharedTerm: cfg.noShared,
		Top: make([]int, N*k), TopNorms: make([]float64, N*k), Threshold: make([]float64, N),
		Significant: make([]float64, N), Explained: make([]float64, N)}
	mean := make([]float64, N*d)
	dir := make([]float64, N*d)
	meter := newMeter(cfg.progress, "directions", N)
	var mu sync.Mutex
	done := 0
	err := parallel.For(ctx, cfg.workers, cfg.workers, func(_, b int) error {
		lo, hi := b*N/cfg.workers, (b+1)*N/cfg.workers
		row := make([]float32, d)
		a32 := make([]float32, K)
		X := mat.NewDense(k, d, nil)
		for n := lo; n < hi; n++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			Un := mat32(K, d, d, u.U[n*K*d:])
			// mean_n = U_nᵀ ā_n + C̄
			for i := range K {
				a32[i] = float32(abar[n*K+i])
			}
			clear(row)
			if K > 0 {
				kernels.Gemm(false, false, 1, mat32(1, K, K, a32), Un, 0, mat32(1, d, d, row))
			}
			for j := range d {
				mean[n*d+j] = float64(row[j]) + cbar[j]
			}
			es := t.sorted(n)
			for r, e := range es {
				st.Top[n*k+r], st.TopNorms[n*k+r] = e.index, e.norm
				// centred effect U_nᵀ(A - ā) + (C - C̄)
				for i := range K {
					a32[i] = float32(float64(e.a[i]) - abar[n*K+i])
				}
				clear(row)
				if K > 0 {
					kernels.Gemm(false, false, 1, mat32(1, K, K, a32), Un, 0, mat32(1, d, d, row))
				}
				c := t.cs[e.index]
				for j := range d {
					X.Set(r, j, float64(row[j])+float64(c[j])-cbar[j])
				}
			}
			thr := es[len(es)-1].norm
			st.Threshold[n] = thr
			sig := 0
			for _, e := range es {
				if e.norm > thr {
					sig++
				}
			}
			st.Significant[n] = float64(sig) / float64(s.Count)
			v, expl := direction(X)
			copy(dir[n*d:(n+1)*d], v)
			st.Explained[n] = expl
			mu.Lock()
			done++
			meter.report(done)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.Mean = mat.NewDense(N, d, mean)
	st.Direction = mat.NewDense(N, d, dir)
	return st, nil
}

// direction returns the first right singular vector of X [k, d] with the
// reference's sign rule (flip unless more than k/2 rows project positively)
// and the fraction σ_1²/Σσ² of X's squared norm it explains. A zero X gives
// a zero direction.
func direction(X *mat.Dense) ([]float64, float64) {
	k, d := X.Dims()
	var svd mat.SVD
	if !svd.Factorize(X, mat.SVDThinV) {
		return make([]float64, d), 0
	}
	vals := svd.Values(nil)
	var tot float64
	for _, s := range vals {
		tot += s * s
	}
	if tot == 0 {
		return make([]float64, d), 0
	}
	var V mat.Dense
	svd.VTo(&V)
	v := mat.Col(nil, 0, &V)
	pos := 0
	for r := range k {
		if mat.Dot(X.RowView(r), mat.NewVecDense(d, v)) > 0 {
			pos++
		}
	}
	if pos <= k/2 {
		for i := range v {
			v[i] = -v[i]
		}
	}
	return v, vals[0] * vals[0] / tot
}
