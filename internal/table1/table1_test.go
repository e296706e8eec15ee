package table1

import (
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/lens"
)

var (
	modelOnce sync.Once
	model     *clip.Model
	modelErr  error
)

func shapesModel(tb testing.TB) *clip.Model {
	modelOnce.Do(func() { model, modelErr = shapesmodel.Model() })
	require.NoError(tb, modelErr)
	return model
}

// TopKExplained on effects from lens.SecondOrderPixels must reproduce
// lens.Stats.Explained: the table's indirect statistic is the same
// statistic as the second-order one.
func TestTopKExplainedMatchesStats(t *testing.T) {
	m := shapesModel(t)
	const M, k, layer = 45, 4, 1
	w := shapes.HeldOut(1, M)
	src := lens.Generator(M, func(i int) (image.Image, error) { return w.At(i).Image, nil })
	res, err := lens.Analyze(t.Context(), m, src, lens.WithLayers(layer), lens.WithK(k))
	require.NoError(t, err)
	st := res.Layer(layer)
	N := m.Config.Vision.MLPWidth
	rows := make([][][]float32, N)
	for i := range M {
		px, err := clip.Preprocess(w.At(i).Image, m.Config.Vision.ImageSize)
		require.NoError(t, err)
		e, err := lens.SecondOrderPixels(m, px, layer)
		require.NoError(t, err)
		for n := range N {
			rows[n] = append(rows[n], f32(e.RawRowView(n)))
		}
	}
	for n := 0; n < N; n += 17 {
		assert.InDelta(t, st.Explained[n], TopKExplained(rows[n], k), 1e-4, "neuron %d", n)
	}
}

func TestTopKExplained(t *testing.T) {
	// Rank-1 data explains everything; two orthogonal equal directions half.
	rank1 := [][]float32{{1, 2}, {-1, -2}, {3, 6}, {-3, -6}}
	assert.InDelta(t, 1, TopKExplained(rank1, 4), 1e-12)
	two := [][]float32{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}
	assert.InDelta(t, 0.5, TopKExplained(two, 4), 1e-12)
	// Only the top-k centred rows count: the two large rows are rank 1.
	mixed := [][]float32{{10, 0}, {-10, 0}, {0, 1}, {0, -1}}
	assert.InDelta(t, 1, TopKExplained(mixed, 2), 1e-12)
	assert.Zero(t, TopKExplained(nil, 3))
}

// The whole-layer hook must change the embedding, and the means must be
// means.
func TestLayerAblationChangesEmbedding(t *testing.T) {
	m := shapesModel(t)
	cfg := Config{Layers: []int{1}, Workers: 1}
	w := shapes.HeldOut(1, 9)
	means, err := activationMeans(t.Context(), m, w, cfg)
	require.NoError(t, err)
	var hk clip.Hooks
	var sum float64
	hk.On(clip.Point{Layer: 1, Site: clip.MLPPost}, func(_ clip.Point, a *clip.Act) {
		for _, v := range a.Data {
			sum += float64(v)
		}
	})
	for i := range 9 {
		_, err := m.RunImage(t.Context(), w.At(i).Image, &hk)
		require.NoError(t, err)
	}
	var ms float64
	for _, v := range means[0] {
		ms += float64(v)
	}
	assert.InDelta(t, sum/9, ms, 1e-3*max(1, abs(ms)))
	labels := make([]int, 9)
	cls, err := m.NewClassifier(shapes.ClassNames(), shapes.Templates())
	require.NoError(t, err)
	_, _, embs, err := layerAblation(t.Context(), m, w, labels, cls, means, cfg)
	require.NoError(t, err)
	var hk2 clip.Hooks
	hk2.On(clip.Point{Layer: 1, Site: clip.MLPPost}, func(_ clip.Point, a *clip.Act) { copy(a.Data, means[0]) })
	g, err := m.RunImage(t.Context(), w.At(0).Image, &hk2)
	require.NoError(t, err)
	var diff float64
	for k, v := range g {
		x := 100 / norm(g) * float64(v)
		diff += (x - float64(embs[0][k])) * (x - float64(embs[0][k]))
	}
	assert.Greater(t, diff, 1e-2, "mean-ablating the layer left the embedding unchanged")
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestRunSmall(t *testing.T) {
	m := shapesModel(t)
	tab, err := Run(t.Context(), m, Config{StatsImages: 45, K: 3, AccuracyImages: 27,
		IndirectImages: 18, IndirectNeurons: 4, IndirectK: 3, Workers: 2})
	require.NoError(t, err)
	L := m.Config.Vision.Layers
	require.Len(t, tab.Rows, 2)
	for j, r := range tab.Rows {
		assert.Equal(t, []int{L - 3, L - 2}[j], r.Layer)
		assert.Equal(t, 27, r.Ablation.Images)
		// the lens's (a) and a plain forward pass classify alike
		assert.InDelta(t, r.ForwardBaseline, r.Ablation.Baseline, 100.0/27+1e-9)
		for _, v := range []float64{r.Ablation.MeanAblated, r.LayerMeanAblated, r.Ablation.RankOne} {
			assert.True(t, v >= 0 && v <= 100)
		}
		for _, v := range []float64{r.SecondPC1, r.SecondPC1Matched, r.IndirectPC1} {
			assert.True(t, v > 0 && v <= 1+1e-9, "PC1 share %v", v)
		}
		N := m.Config.Vision.MLPWidth // every N/4-th neuron: 4 evenly spaced
		assert.Equal(t, []int{0, N / 4, N / 2, 3 * N / 4}, r.Neurons)
	}
	md := tab.Markdown("go run ./examples/table1")
	assert.Contains(t, md, "52.3")
	assert.Contains(t, md, "48.2%")
	assert.Contains(t, md, "| total |")
}

// BenchmarkTable1Shapes measures the paper's Table 1 on the shapes world
// with the embedded model, at the sizes of Defaults (TABLE1_SCALE=0.1 runs
// a tenth of the images). It reports the table's numbers as metrics and
// logs the Markdown table.
func BenchmarkTable1Shapes(b *testing.B) {
	m := shapesModel(b)
	cfg := Defaults
	if s := os.Getenv("TABLE1_SCALE"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		require.NoError(b, err)
		scale := func(n, unit int) int { return max(unit, int(float64(n)*f)/unit*unit) }
		cfg.StatsImages, cfg.AccuracyImages, cfg.IndirectImages = scale(cfg.StatsImages, 9), scale(cfg.AccuracyImages, 9), scale(cfg.IndirectImages, 9)
		cfg.K, cfg.IndirectK = max(2, scale(cfg.K, 1)), max(2, scale(cfg.IndirectK, 1))
	}
	var tab *Table
	for b.Loop() {
		var err error
		tab, err = Run(b.Context(), m, cfg)
		require.NoError(b, err)
	}
	for _, r := range tab.Rows {
		l := fmt.Sprintf("L%d-", r.Layer)
		b.ReportMetric(r.Ablation.Baseline, l+"acc-baseline-%")
		b.ReportMetric(r.Ablation.MeanAblated, l+"acc-2nd-ablated-%")
		b.ReportMetric(r.LayerMeanAblated, l+"acc-indirect-ablated-%")
		b.ReportMetric(100*r.SecondPC1, l+"pc1-2nd-%")
		b.ReportMetric(100*r.IndirectPC1, l+"pc1-indirect-%")
	}
	tab.Model = ModelLine(m, shapesmodel.Report())
	b.Log("\n" + strings.TrimSpace(tab.Markdown("go test -run '^$' -bench Table1Shapes ./internal/table1")))
}
