package lens

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	lapackgo "gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/clip/cuda"
	"github.com/neuronlens/neuronlens/internal/kernels"
	"github.com/neuronlens/neuronlens/internal/parallel"
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
// and their first right singular vector is found, as the top eigenvector
// of their Gram matrix (gonum's LAPACK: tridiagonal form, then inverse
// iteration), which agrees with a thin SVD's to rounding.
//
// Memory does not grow with the number of images beyond their ids: it is
// the model, the u vectors, Gram matrices and W bases of the layers (453 MB
// + 50 MB + 52 MB for ViT-B/32 layers 8–10) and the top-k state, N·k·(K floats) plus the
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
			run.recPool.put(rec)
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
	// Images go in groups, so that each neuron's Gram matrix is read from
	// memory once per group rather than once per image.
	const group = 8
	err = parallel.For(ctx, (M+group-1)/group, cfg.workers, func(_, g int) error {
		lo, hi := g*group, min(M, (g+1)*group)
		recs := make([][]float32, 0, group)
		defer func() {
			for _, rec := range recs {
				run.recPool.put(rec)
			}
		}()
		views := make([][]layerView, len(layers)) // [layer][image]
		for i := lo; i < hi; i++ {
			rec, ok := run.cache.load(i, ids[i], run.recPool.get())
			if !ok {
				return fmt.Errorf("lens: cache: record of image %d (%s) vanished", i, ids[i])
			}
			recs = append(recs, rec)
			_, ls := run.cache.split(rec)
			for j := range layers {
				views[j] = append(views[j], ls[j])
			}
		}
		for j, u := range run.us {
			norms := run.norms(j, views[j], ms[j].a, ms[j].w, ms[j].c)
			tmu[j].Lock()
			for b, lv := range views[j] {
				tops[j].addImage(lo+b, norms[b*u.N:(b+1)*u.N], lv.A, lv.C)
			}
			tmu[j].Unlock()
		}
		mu.Lock()
		done += hi - lo
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
	bases  []*deviceBasis // W's basis per layer (deviceBasis)
	cache  *cache
	caps   []*capture
	layers []int
	temp   string
	// Recycled records and pixels: hundreds of kilobytes per image, so
	// that the passes do not allocate (and fault in) fresh ones per image.
	recPool, pxPool *floatPool
	// The device path's recycled results, per layer.
	soPools []freeList[*cuda.SecondOrder]
}

func newRunner(m *clip.Model, src Source, layers []int, cfg *config) (*runner, error) {
	S := m.Config.Vision.ImageSize
	r := &runner{m: m, src: src, cfg: cfg, layers: layers, caps: make([]*capture, cfg.workers),
		pxPool: &floatPool{n: 3 * S * S}}
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
		bs, err := basisOf(m, u)
		if err != nil {
			return nil, err
		}
		r.us, r.grams, r.bases, Ks[j] = append(r.us, u), append(r.grams, G), append(r.bases, bs), u.K
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
	r.recPool = &floatPool{n: c.size}
	return r, nil
}

func (r *runner) close() {
	if r.temp != "" {
		os.RemoveAll(r.temp)
	}
}

// get returns the id and flat record of image i, from the cache or computed
// by worker w (and then stored); cached reports which. The record comes
// from r.recPool; the caller puts it back when done with it.
func (r *runner) get(ctx context.Context, w, i int) (id string, rec []float32, cached bool, err error) {
	id, err = idOf(r.src, i)
	if err != nil {
		return "", nil, false, fmt.Errorf("lens: image %d: %w", i, err)
	}
	buf := r.recPool.get()
	if rec, ok := r.cache.load(i, id, buf); ok {
		return id, rec, true, nil
	}
	rec, err = r.compute(ctx, w, i, buf)
	if err != nil {
		r.recPool.put(buf)
		return "", nil, false, err
	}
	return id, rec, false, nil
}

// compute runs image i through worker w's capture and stores its record,
// made in rec.
func (r *runner) compute(ctx context.Context, w, i int, rec []float32) ([]float32, error) {
	id, img, err := r.src.Image(i)
	if err != nil {
		return nil, fmt.Errorf("lens: image %d (%s): %w", i, id, err)
	}
	px := r.pxPool.get()
	defer r.pxPool.put(px)
	if err := clip.PreprocessTo(px, img, r.m.Config.Vision.ImageSize); err != nil {
		return nil, fmt.Errorf("lens: image %d (%s): %w", i, id, err)
	}
	if r.caps[w] == nil {
		r.caps[w] = newCapture(r.m, r.layers)
	}
	if err := r.caps[w].run(ctx, r.m, px); err != nil {
		return nil, fmt.Errorf("lens: image %d (%s): %w", i, id, err)
	}
	r.cache.compute(rec, r.caps[w], r.us, r.bases, r.cfg)
	if err := r.cache.store(i, id, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// norms returns the centred norms ‖φ_n - mean_n‖ of layer j for the images
// of views, [len(views), N]: neuron by neuron, so that each Gram matrix is
// read once for all of them.
func (r *runner) norms(j int, views []layerView, abar, wbar, cbar []float64) []float64 {
	u, G := r.us[j], r.grams[j]
	N, K := u.N, u.K
	cc := make([]float64, len(views))
	for b, lv := range views {
		for i, v := range lv.C {
			d := float64(v) - cbar[i]
			cc[b] += d * d
		}
	}
	out := make([]float64, len(views)*N)
	beta := make([]float64, K)
	for n := range N {
		Gn := G[n*K*K : (n+1)*K*K]
		for b, lv := range views {
			out[b*N+n] = sqrt(centredNorm2(Gn, lv.A[n*K:(n+1)*K], abar[n*K:(n+1)*K],
				lv.W[n*K:(n+1)*K], wbar[n*K:(n+1)*K], cc[b], beta))
		}
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
		row, zero := make([]float32, d), make([]float32, d)
		a32 := make([]float32, K)
		centred := make([]float32, k*K) // rows A - ā of the kept images
		effects := make([]float32, k*d) // their rows U_nᵀ(A - ā)
		X := mat.NewDense(k, d, nil)
		var r1 rank1
		for n := lo; n < hi; n++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			Un := mat32(K, d, d, u.U[n*K*d:])
			// mean_n = U_nᵀ ā_n + C̄
			for i := range K {
				a32[i] = float32(abar[n*K+i])
			}
			u.effectRow(row, n, a32, zero)
			for j := range d {
				mean[n*d+j] = float64(row[j]) + cbar[j]
			}
			es := t.sorted(n)
			for r, e := range es {
				st.Top[n*k+r], st.TopNorms[n*k+r] = e.index, e.norm
				for i := range K {
					centred[r*K+i] = float32(float64(e.a[i]) - abar[n*K+i])
				}
			}
			// centred effects U_nᵀ(A - ā) + (C - C̄), one product for all rows
			clear(effects)
			if K > 0 {
				kernels.Gemm(false, false, 1, mat32(len(es), K, K, centred), Un, 0, mat32(len(es), d, d, effects))
			}
			x := X.RawMatrix().Data
			for r, e := range es {
				c := t.cs[e.index]
				for j := range d {
					x[r*d+j] = float64(effects[r*d+j]) + float64(c[j]) - cbar[j]
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
			v, expl := r1.direction(X.RawMatrix())
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

// rank1 finds the first right singular vector of k×d matrices through the
// top eigenvector of the smaller of their two Gram matrices (X Xᵀ when
// k ≤ d, XᵀX otherwise): the Gram matrix is reduced to tridiagonal form,
// its eigenvalues found without vectors, and the top one's vector by
// inverse iteration. At k = 100, d = 512 that is a fifth of the time of a
// thin SVD. It keeps its buffers between calls; one per goroutine.
type rank1 struct {
	gram, diag, off, tau, work, vals, lower, upper, shifted, y, prev []float64
}

// direction returns the first right singular vector of X [k, d], signed by
// [orient], and the fraction σ_1²/Σσ² of X's squared norm it explains. A zero X gives
// a zero direction, and so does one the eigensolver fails on (NaNs).
func (r *rank1) direction(X blas64.General) ([]float64, float64) {
	k, d := X.Rows, X.Cols
	t, n := blas.NoTrans, k // X Xᵀ
	if k > d {
		t, n = blas.Trans, d // XᵀX
	}
	grow := func(b []float64, n int) []float64 { return slices.Grow(b[:0], n)[:n] }
	r.gram = grow(r.gram, n*n)
	G := blas64.Symmetric{N: n, Stride: n, Uplo: blas.Lower, Data: r.gram}
	blas64.Syrk(t, 1, X, 0, G)
	v := make([]float64, d)
	var tot float64
	for i := range n {
		tot += G.Data[i*n+i]
	}
	if !(tot > 0) { // zero or NaN
		return v, 0
	}
	lmax, ok := r.topEigen(G)
	if !ok {
		return v, 0
	}
	u := r.y
	if t == blas.Trans {
		copy(v, u)
	} else {
		// v ∝ Xᵀu for the top eigenvector u of X Xᵀ.
		for i := range k {
			blas64.Axpy(u[i], blas64.Vector{N: d, Inc: 1, Data: X.Data[i*X.Stride:]}, blas64.Vector{N: d, Inc: 1, Data: v})
		}
		nrm := blas64.Nrm2(blas64.Vector{N: d, Inc: 1, Data: v})
		if !(nrm > 0) {
			return make([]float64, d), 0
		}
		blas64.Scal(1/nrm, blas64.Vector{N: d, Inc: 1, Data: v})
	}
	orient(X, v)
	return v, lmax / tot
}

// orient signs the unit vector v [d] by the rows of X [k, d] as the
// reference does: v is flipped unless more than k/2 rows project
// positively on it. Where neither sign has such a majority (k/2 rows each
// way, or rows orthogonal to v), the reference's sign is whatever its SVD
// returned; here it is the one on which the row that projects farthest
// projects positively, and if two rows project equally far with opposite
// signs, the one whose largest entry in magnitude (the first such) is
// positive. (A sum of the projections would not do: when every image is
// kept, the centred rows sum to zero, and the sum's sign is rounding.)
func orient(X blas64.General, v []float64) {
	k, d := X.Rows, X.Cols
	vec := blas64.Vector{N: d, Inc: 1, Data: v}
	pos, neg := 0, 0
	var far, farthest float64 // the largest |projection|, and the projection
	tied := false
	for i := range k {
		p := blas64.Dot(blas64.Vector{N: d, Inc: 1, Data: X.Data[i*X.Stride:]}, vec)
		switch {
		case p > 0:
			pos++
		case p < 0:
			neg++
		}
		switch a := math.Abs(p); {
		case a > far:
			far, farthest, tied = a, p, false
		case a == far && p != farthest:
			tied = true
		}
	}
	flip := pos <= k/2
	if flip && neg <= k/2 { // no majority either way
		switch {
		case far > 0 && !tied:
			flip = farthest < 0
		case d > 0:
			flip = v[blas64.Iamax(vec)] < 0
		}
	}
	if flip {
		blas64.Scal(-1, vec)
	}
}

// startVectors are inverse iteration's first guesses, tried in turn: any
// vector not orthogonal to the wanted eigenvector does; two unlike ones make
// a miss on both unlikely.
var startVectors = []func(i int) float64{
	func(i int) float64 { return 1 + float64(i%7)/7 },
	func(i int) float64 { return float64(1-2*(i%2)) * (1 + float64(i%5)/5) },
}

// inverseIteration finds in r.y the unit eigenvector of the tridiagonal
// matrix (r.diag, r.off) for its top eigenvalue lmax, by inverse iteration
// with T - σI, σ just above lmax (scale, the largest |eigenvalue|, sets how
// far): the matrix is negative definite, so the solve is safe, and each
// step shrinks the other eigenvectors' share by (σ-λ_1)/(σ-λ_2). It stops
// when a step moves y by less than 1e-12 (up to its sign, which every step
// flips), trying each start vector for at most eight steps, and reports
// whether it got there: not when the top two eigenvalues are too close for
// the steps to tell them apart.
func (r *rank1) inverseIteration(lmax, scale float64, starts []func(int) float64) bool {
	var impl lapackgo.Implementation
	n := len(r.diag)
	sigma := lmax + 1e-10*scale + math.SmallestNonzeroFloat64
	r.shifted = slices.Grow(r.shifted[:0], n)[:n]
	r.prev = slices.Grow(r.prev[:0], n)[:n]
	y := r.y[:n]
	for _, start := range starts {
		for i := range y {
			y[i] = start(i)
		}
		for step := range 8 {
			copy(r.prev, y)
			for i := range n {
				r.shifted[i] = r.diag[i] - sigma
			}
			r.lower = append(r.lower[:0], r.off...)
			r.upper = append(r.upper[:0], r.off...)
			if !impl.Dgtsv(n, 1, r.lower, r.shifted, r.upper, y, 1) {
				break
			}
			nrm := blas64.Nrm2(blas64.Vector{N: n, Inc: 1, Data: y})
			if !(nrm > 0) || math.IsInf(nrm, 0) {
				break
			}
			blas64.Scal(1/nrm, blas64.Vector{N: n, Inc: 1, Data: y})
			if step == 0 {
				continue // the start vector is not a unit vector
			}
			var same, flipped float64
			for i, v := range y {
				same += (v - r.prev[i]) * (v - r.prev[i])
				flipped += (v + r.prev[i]) * (v + r.prev[i])
			}
			if min(same, flipped) <= 1e-24 {
				return true
			}
		}
	}
	return false
}

// tridiagonalTop is inverseIteration's fall-back: every eigenvector of the
// tridiagonal matrix by implicit QL/QR (gonum's Dsteqr), the top one kept
// in r.y.
func (r *rank1) tridiagonalTop() bool {
	var impl lapackgo.Implementation
	n := len(r.diag)
	d := append([]float64(nil), r.diag...)
	e := append([]float64(nil), r.off...)
	z := make([]float64, n*n)
	if !impl.Dsteqr(lapack.EVTridiag, n, d, e, z, n, make([]float64, max(1, 2*n-2))) {
		return false
	}
	for i := range n {
		r.y[i] = z[i*n+n-1] // ascending: the last column
	}
	return true
}

// topEigen leaves the unit eigenvector of the symmetric G's largest
// eigenvalue in r.y and returns that eigenvalue. G's lower triangle is
// overwritten.
func (r *rank1) topEigen(G blas64.Symmetric) (float64, bool) {
	var impl lapackgo.Implementation
	n := G.N
	grow := func(b []float64, n int) []float64 { return slices.Grow(b[:0], n)[:n] }
	r.diag, r.off, r.tau = grow(r.diag, n), grow(r.off, n-1), grow(r.tau, n-1)
	if len(r.work) < n {
		r.work = make([]float64, 1)
		impl.Dsytrd(blas.Lower, n, G.Data, n, r.diag, r.off, r.tau, r.work, -1)
		r.work = make([]float64, max(n, int(r.work[0])))
	}
	// Qᵀ G Q = T, tridiagonal: diag and off.
	impl.Dsytrd(blas.Lower, n, G.Data, n, r.diag, r.off, r.tau, r.work, len(r.work))
	r.vals = append(r.vals[:0], r.diag...)
	r.lower = append(r.lower[:0], r.off...)
	if !impl.Dsterf(n, r.vals, r.lower) { // ascending
		return 0, false
	}
	lmax := r.vals[n-1]
	scale := max(math.Abs(lmax), math.Abs(r.vals[0]))
	r.y = grow(r.y, n)
	if !r.inverseIteration(lmax, scale, startVectors) && !r.tridiagonalTop() {
		return 0, false
	}
	// Back to G's basis: y ← Q y with Q = H_0 H_1 ⋯ H_{n-2}, H_i = I - τ_i v vᵀ,
	// v = [0 (i+1 entries), 1, G[i+2:n, i]].
	for i := n - 2; i >= 0; i-- {
		dot := r.y[i+1]
		for j := i + 2; j < n; j++ {
			dot += G.Data[j*n+i] * r.y[j]
		}
		dot *= r.tau[i]
		r.y[i+1] -= dot
		for j := i + 2; j < n; j++ {
			r.y[j] -= dot * G.Data[j*n+i]
		}
	}
	return lmax, true
}
