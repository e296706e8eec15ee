// Package table1 measures the paper's Table 1 (METHOD.md §2) on the shapes
// world with the embedded shapes CLIP: zero-shot accuracy when the
// second-order effects of a late MLP layer are mean-ablated (variants
// (a)–(e) of lens.Ablate), when the whole layer's activations are
// mean-ablated (all its indirect effects at once), and the share of
// variance that the first principal direction explains, for second-order
// and for indirect effects.
//
// [Run] does the measurement, [Table.Markdown] writes it beside the
// paper's numbers. examples/table1 prints it and BenchmarkTable1Shapes
// times it.
package table1

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/parallel"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/lens"
)

// Config sizes a run. The zero value of a field means its default
// ([Defaults]).
type Config struct {
	// Layers are the MLP blocks studied; default the two before the last
	// (L-3 and L-2): the paper's layer 9 of 12 is late but not last, and
	// the last block has no later attention heads to carry a second-order
	// effect.
	Layers []int
	// Seed is the world seed; the images are held-out samples of it
	// (shapes.HeldOut), disjoint from the training set of that seed.
	Seed uint64
	// StatsImages are the images of the dataset statistics (means, top-k,
	// directions), K the top images per neuron (the paper: 100 of 5,124,
	// about 2%).
	StatsImages, K int
	// AccuracyImages are the zero-shot test images, the next held-out
	// samples after the statistics images (disjoint from them).
	AccuracyImages int
	// IndirectImages (the first of the statistics images), IndirectNeurons
	// (evenly spaced over the layer: n = i·N/IndirectNeurons) and IndirectK
	// size the PC1 statistic of the indirect effects, which costs one
	// forward pass per image and neuron. The second-order statistic is
	// computed again on exactly these images, neurons and k ("matched").
	IndirectImages, IndirectNeurons, IndirectK int
	// Workers is the number of goroutines (default GOMAXPROCS).
	Workers int
	// Progress, if set, receives progress reports of every phase.
	Progress lens.Progress
}

// Defaults are the sizes of the reported run: about 2% of the images as
// top-k, as in the paper; class-balanced sets (multiples of the 9 classes).
var Defaults = Config{
	Seed:            1,
	StatsImages:     1800,
	K:               36,
	AccuracyImages:  900,
	IndirectImages:  900,
	IndirectNeurons: 32,
	IndirectK:       18,
}

func (c Config) withDefaults(m *clip.Model) Config {
	d := Defaults
	if c.Layers == nil {
		L := m.Config.Vision.Layers
		c.Layers = []int{max(0, L-3), max(0, L-2)}
	}
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	set(&c.StatsImages, d.StatsImages)
	set(&c.K, d.K)
	set(&c.AccuracyImages, d.AccuracyImages)
	set(&c.IndirectImages, d.IndirectImages)
	set(&c.IndirectNeurons, d.IndirectNeurons)
	set(&c.IndirectK, d.IndirectK)
	set(&c.Workers, runtime.GOMAXPROCS(0))
	c.IndirectImages = min(c.IndirectImages, c.StatsImages)
	c.IndirectNeurons = min(c.IndirectNeurons, m.Config.Vision.MLPWidth)
	c.IndirectK = min(c.IndirectK, c.IndirectImages)
	c.K = min(c.K, c.StatsImages)
	return c
}

// Row is what one layer measures. Accuracies are top-1 percentages on the
// accuracy images, PC1 shares fractions in [0, 1].
type Row struct {
	Layer int
	// Ablation is lens.Ablate's (a)–(e) with the statistics of the
	// statistics images.
	Ablation lens.Accuracy
	// LayerMeanAblated is the accuracy when every neuron's activation of
	// the layer is replaced by its dataset mean per token position (one
	// forward pass with a hook at MLPPost): all indirect effects of the
	// layer mean-ablated at once.
	LayerMeanAblated float64
	// ForwardBaseline is the accuracy of the plain forward pass, the same
	// classifier; it must equal Ablation.Baseline.
	ForwardBaseline float64
	// SecondPC1 is the mean over all neurons of lens.Stats.Explained from
	// the statistics images (K top images).
	SecondPC1 float64
	// SecondPC1Matched and IndirectPC1 are the same statistic on the
	// IndirectImages, IndirectNeurons and IndirectK of the config, for the
	// second-order and the indirect effects.
	SecondPC1Matched, IndirectPC1 float64
	// Neurons are the neurons of the matched statistics.
	Neurons []int
}

// Table is the result of [Run].
type Table struct {
	Config Config
	Model  string // a one-line description of the model, e.g. "the embedded shapes CLIP, " + ModelLine(…)
	Chance float64
	// Blocks, MLPWidth and Dim are the image tower's depth, its neurons per
	// layer and the embedding dimension.
	Blocks, MLPWidth, Dim int
	Rows                  []Row
	// EmbeddingPC1 calibrates the PC1 shares: the same statistic for the
	// embeddings 100·f/‖f‖ of the accuracy images, with EmbeddingK top
	// images (the same fraction as IndirectK). A space whose images vary
	// along few directions makes every effect look low-rank.
	EmbeddingPC1 float64
	EmbeddingK   int
	// Timings of the phases, and the whole run.
	Timings []Timing
	Total   time.Duration
}

// Timing is the wall time of one phase.
type Timing struct {
	Phase string
	Time  time.Duration
}

// Run measures the table for m on the shapes world. The class embeddings
// come from shapes.ClassNames × shapes.Templates (clip.NewClassifier); the
// true class of an image is its sample's Class. ctx cancels between images.
func Run(ctx context.Context, m *clip.Model, cfg Config) (*Table, error) {
	if m == nil || m.Visual == nil || m.Config.Vision == nil {
		return nil, errors.New("table1: model without an image tower")
	}
	if m.Tokenizer() == nil {
		return nil, errors.New("table1: model without a tokenizer")
	}
	cfg = cfg.withDefaults(m)
	start := time.Now()
	v := m.Config.Vision
	t := &Table{Config: cfg, Chance: 100 / float64(shapes.NumShapes), Blocks: v.Layers, MLPWidth: v.MLPWidth, Dim: m.Config.EmbedDim}
	lap := func(phase string, since time.Time) {
		t.Timings = append(t.Timings, Timing{phase, time.Since(since)})
	}
	S := v.ImageSize
	all := shapes.HeldOut(cfg.Seed, cfg.StatsImages+cfg.AccuracyImages, shapes.WithSize(S, S))
	statsW, accW := all.Slice(0, cfg.StatsImages), all.Slice(cfg.StatsImages, all.Len())
	srcOf := func(w shapes.Source) lens.Source {
		return lens.Generator(w.Len(), func(i int) (image.Image, error) { return w.At(i).Image, nil })
	}
	labels := make([]int, accW.Len())
	for i := range labels {
		c, _ := accW.SceneAt(i).Class()
		labels[i] = int(c)
	}

	t0 := time.Now()
	cls, err := m.NewClassifier(shapes.ClassNames(), shapes.Templates())
	if err != nil {
		return nil, err
	}
	lap("classifier (text tower)", t0)

	// Second-order statistics, all neurons, the statistics images.
	t0 = time.Now()
	opts := []lens.Option{lens.WithLayers(cfg.Layers...), lens.WithWorkers(cfg.Workers)}
	if cfg.Progress != nil {
		opts = append(opts, lens.WithProgress(cfg.Progress))
	}
	res, err := lens.Analyze(ctx, m, srcOf(statsW), append(opts, lens.WithK(cfg.K))...)
	if err != nil {
		return nil, err
	}
	lap(fmt.Sprintf("lens.Analyze, %d images, layers %v", statsW.Len(), cfg.Layers), t0)

	// (a)–(e) on the accuracy images; one cache shared by the layers.
	t0 = time.Now()
	cache, err := os.MkdirTemp("", "neuronlens-table1-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cache)
	accSrc := srcOf(accW)
	for _, l := range cfg.Layers {
		acc, err := lens.Ablate(ctx, m, accSrc, labels, cls.Weights, res.Layer(l), append(opts, lens.WithCache(cache))...)
		if err != nil {
			return nil, err
		}
		st := res.Layer(l)
		t.Rows = append(t.Rows, Row{Layer: l, Ablation: *acc, SecondPC1: mean(st.Explained)})
	}
	lap(fmt.Sprintf("lens.Ablate (a)-(e), %d images", accW.Len()), t0)

	// Per-token means of every layer's activations over the statistics images.
	t0 = time.Now()
	means, err := activationMeans(ctx, m, statsW, cfg)
	if err != nil {
		return nil, err
	}
	lap(fmt.Sprintf("activation means, %d images", statsW.Len()), t0)

	// Whole-layer mean ablation (all indirect effects) on the accuracy images.
	t0 = time.Now()
	base, layerAcc, embs, err := layerAblation(ctx, m, accW, labels, cls, means, cfg)
	if err != nil {
		return nil, err
	}
	t.EmbeddingK = max(2, cfg.IndirectK*len(embs)/cfg.IndirectImages)
	t.EmbeddingPC1 = TopKExplained(embs, t.EmbeddingK)
	for j := range t.Rows {
		t.Rows[j].ForwardBaseline, t.Rows[j].LayerMeanAblated = base, layerAcc[j]
	}
	lap(fmt.Sprintf("layer mean-ablation, %d images", accW.Len()), t0)

	// PC1 shares of indirect and second-order effects, matched.
	t0 = time.Now()
	N := v.MLPWidth
	sel := make([]int, cfg.IndirectNeurons)
	for i := range sel {
		sel[i] = i * N / cfg.IndirectNeurons
	}
	second, indirect, err := effects(ctx, m, statsW.Slice(0, cfg.IndirectImages), sel, means, cfg)
	if err != nil {
		return nil, err
	}
	for j := range t.Rows {
		var s2, si float64
		for n := range sel {
			s2 += TopKExplained(second[j][n], cfg.IndirectK)
			si += TopKExplained(indirect[j][n], cfg.IndirectK)
		}
		t.Rows[j].SecondPC1Matched = s2 / float64(len(sel))
		t.Rows[j].IndirectPC1 = si / float64(len(sel))
		t.Rows[j].Neurons = sel
	}
	lap(fmt.Sprintf("indirect effects, %d images × %d neurons × %d layers", cfg.IndirectImages, len(sel), len(cfg.Layers)), t0)
	t.Total = time.Since(start)
	return t, nil
}

// activationMeans returns, per layer of cfg, the mean MLPPost activation
// [T, N] over the images of w.
func activationMeans(ctx context.Context, m *clip.Model, w shapes.Source, cfg Config) ([][]float32, error) {
	v := m.Config.Vision
	T, N, nl := v.Tokens(), v.MLPWidth, len(cfg.Layers)
	type acc struct {
		hk   clip.Hooks
		sums [][]float64
	}
	accs := make([]*acc, cfg.Workers)
	meter := newMeter(cfg.Progress, "means", w.Len())
	err := parallel.For(ctx, w.Len(), cfg.Workers, func(wk, i int) error {
		a := accs[wk]
		if a == nil {
			a = &acc{sums: make([][]float64, nl)}
			for j, l := range cfg.Layers {
				a.sums[j] = make([]float64, T*N)
				s := a.sums[j]
				a.hk.On(clip.Point{Layer: l, Site: clip.MLPPost}, func(_ clip.Point, x *clip.Act) {
					for k, v := range x.Data {
						s[k] += float64(v)
					}
				})
			}
			accs[wk] = a
		}
		px, err := clip.Preprocess(w.At(i).Image, v.ImageSize)
		if err != nil {
			return err
		}
		if _, err := m.RunPixels(ctx, px, &a.hk); err != nil {
			return err
		}
		meter.tick()
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, nl)
	for j := range out {
		out[j] = make([]float32, T*N)
		for k := range out[j] {
			var s float64
			for _, a := range accs {
				if a != nil {
					s += a.sums[j][k]
				}
			}
			out[j][k] = float32(s / float64(w.Len()))
		}
	}
	return out, nil
}

// layerAblation returns the zero-shot accuracy of the plain forward pass and,
// per layer, with every neuron of the layer replaced by its mean; and the
// images' embeddings 100·f/‖f‖.
func layerAblation(ctx context.Context, m *clip.Model, w shapes.Source, labels []int, cls *clip.Classifier, means [][]float32, cfg Config) (float64, []float64, [][]float32, error) {
	v := m.Config.Vision
	nl := len(cfg.Layers)
	type state struct{ hks []clip.Hooks }
	states := make([]*state, cfg.Workers)
	var mu sync.Mutex
	correct := make([]int, nl+1)
	embs := make([][]float32, w.Len())
	meter := newMeter(cfg.Progress, "layer-ablate", w.Len())
	err := parallel.For(ctx, w.Len(), cfg.Workers, func(wk, i int) error {
		s := states[wk]
		if s == nil {
			s = &state{hks: make([]clip.Hooks, nl)}
			for j, l := range cfg.Layers {
				mj := means[j]
				s.hks[j].On(clip.Point{Layer: l, Site: clip.MLPPost}, func(_ clip.Point, x *clip.Act) { copy(x.Data, mj) })
			}
			states[wk] = s
		}
		px, err := clip.Preprocess(w.At(i).Image, v.ImageSize)
		if err != nil {
			return err
		}
		hit := make([]bool, nl+1)
		f, err := m.RunPixels(ctx, px, nil)
		if err != nil {
			return err
		}
		hit[0] = cls.Predict(f) == labels[i]
		embs[i] = make([]float32, len(f))
		sc := 100 / norm(f)
		for k, x := range f {
			embs[i][k] = float32(sc * float64(x))
		}
		for j := range nl {
			g, err := m.RunPixels(ctx, px, &s.hks[j])
			if err != nil {
				return err
			}
			hit[j+1] = cls.Predict(g) == labels[i]
		}
		mu.Lock()
		for j, h := range hit {
			if h {
				correct[j]++
			}
		}
		mu.Unlock()
		meter.tick()
		return nil
	})
	if err != nil {
		return 0, nil, nil, err
	}
	pct := func(c int) float64 { return 100 * float64(c) / float64(w.Len()) }
	out := make([]float64, nl)
	for j := range out {
		out[j] = pct(correct[j+1])
	}
	return pct(correct[0]), out, embs, nil
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// effects returns, per layer and selected neuron, the second-order and the
// indirect effects [images][d] (paper scale) on the images of w.
func effects(ctx context.Context, m *clip.Model, w shapes.Source, sel []int, means [][]float32, cfg Config) (second, indirect [][][][]float32, err error) {
	v := m.Config.Vision
	nl, M := len(cfg.Layers), w.Len()
	alloc := func() [][][][]float32 {
		out := make([][][][]float32, nl)
		for j := range out {
			out[j] = make([][][]float32, len(sel))
			for n := range sel {
				out[j][n] = make([][]float32, M)
			}
		}
		return out
	}
	second, indirect = alloc(), alloc()
	meter := newMeter(cfg.Progress, "indirect", M)
	err = parallel.For(ctx, M, cfg.Workers, func(_, i int) error {
		px, err := clip.Preprocess(w.At(i).Image, v.ImageSize)
		if err != nil {
			return err
		}
		for j, l := range cfg.Layers {
			so, err := lens.SecondOrderPixels(m, px, l, lens.WithWorkers(1))
			if err != nil {
				return err
			}
			ind, err := lens.IndirectPixels(ctx, m, px, l, means[j], lens.WithNeurons(sel...), lens.WithWorkers(1))
			if err != nil {
				return err
			}
			for k, n := range sel {
				second[j][k][i] = f32(so.RawRowView(n))
				indirect[j][k][i] = f32(ind.RawRowView(k))
			}
		}
		meter.tick()
		return nil
	})
	return second, indirect, err
}

// TopKExplained is the PC1 statistic of METHOD.md §2 for one neuron's
// effects over a dataset, rows [images][d]: centre the effects by their
// mean over the images, keep the k rows of largest centred norm, and return
// σ_1²/Σσ² of that k×d matrix (not centred again), the share of its squared
// norm that the first right singular direction explains. It is what
// lens.Stats.Explained holds for second-order effects.
func TopKExplained(rows [][]float32, k int) float64 {
	M := len(rows)
	if M == 0 || k < 1 {
		return 0
	}
	d := len(rows[0])
	mu := make([]float64, d)
	for _, r := range rows {
		for c, x := range r {
			mu[c] += float64(x)
		}
	}
	for c := range mu {
		mu[c] /= float64(M)
	}
	norms := make([]float64, M)
	for i, r := range rows {
		var s float64
		for c, x := range r {
			e := float64(x) - mu[c]
			s += e * e
		}
		norms[i] = s
	}
	idx := make([]int, M)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return norms[idx[a]] > norms[idx[b]] })
	k = min(k, M)
	X := mat.NewDense(k, d, nil)
	for r, i := range idx[:k] {
		for c, x := range rows[i] {
			X.Set(r, c, float64(x)-mu[c])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(X, mat.SVDNone) {
		return 0
	}
	var tot float64
	vals := svd.Values(nil)
	for _, s := range vals {
		tot += s * s
	}
	if tot == 0 {
		return 0
	}
	return vals[0] * vals[0] / tot
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// meter reports progress of one phase as lens.ProgressReports.
type meter struct {
	mu    sync.Mutex
	f     lens.Progress
	phase string
	total int
	done  int
	start time.Time
	last  time.Time
}

func newMeter(f lens.Progress, phase string, total int) *meter {
	return &meter{f: f, phase: phase, total: total, start: time.Now()}
}

func (m *meter) tick() {
	if m.f == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done++
	now := time.Now()
	if m.done < m.total && now.Sub(m.last) < 100*time.Millisecond {
		return
	}
	m.last = now
	r := lens.ProgressReport{Phase: m.phase, Done: m.done, Total: m.total}
	if el := now.Sub(m.start).Seconds(); el > 0 {
		r.PerSecond = float64(m.done) / el
		r.Left = time.Duration(float64(m.total-m.done) / r.PerSecond * float64(time.Second))
	}
	m.f(r)
}
