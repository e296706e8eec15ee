package lens

import (
	"context"
	"image"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/clip/cuda"
)

// replayAccel stands in for a device that takes no time: every call
// copies the same precomputed results, sized like cuda.Encoder's
// SecondOrderProj for the batch, into its destination, as the encoder
// copies them out of page-locked memory (here in one goroutine; the
// encoder splits the largest copies over several). It isolates the host's share of
// Analyze's first phase on the device path. With fresh set it ignores the
// destination it is given and allocates, as the encoder did before it took
// one.
type replayAccel struct {
	B     int
	so    cuda.SecondOrder // for B images
	fresh bool
}

func newReplayAccel(m *clip.Model, layer, B int) *replayAccel {
	v := m.Config.Vision
	N, K, d := v.MLPWidth, (v.Layers-1-layer)*v.Heads, m.Config.EmbedDim
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int, lo, hi float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = lo + (hi-lo)*r.Float32()
		}
		return x
	}
	return &replayAccel{B: B, so: cuda.SecondOrder{Layer: layer, B: B, N: N, K: K, D: d,
		Alpha: fill(B*N*K, -1, 1), One: fill(B*K, 0.5, 1), Mu: fill(B*K, -0.1, 0.1),
		Emb: fill(B*d, -1, 1), Norm: fill(B, 1, 2), MuPost: fill(B, -0.1, 0.1), SigmaPost: fill(B, 0.5, 1),
		Proj: fill(B*N*K, -1, 1)}}
}

func (a *replayAccel) batch() int { return a.B }
func (a *replayAccel) close()     {}

func (a *replayAccel) secondOrder(_ context.Context, dst *cuda.SecondOrder, pixels [][]float32, _ int, _ *secondU) (*cuda.SecondOrder, error) {
	if dst == nil || a.fresh {
		dst = new(cuda.SecondOrder)
	}
	B, N, K, d := len(pixels), a.so.N, a.so.K, a.so.D
	part := func(dst, src []float32, n int) []float32 { return append(dst[:0], src[:n]...) }
	*dst = cuda.SecondOrder{Layer: a.so.Layer, B: B, N: N, K: K, D: d,
		Alpha: part(dst.Alpha, a.so.Alpha, B*N*K), One: part(dst.One, a.so.One, B*K), Mu: part(dst.Mu, a.so.Mu, B*K),
		Emb: part(dst.Emb, a.so.Emb, B*d), Norm: part(dst.Norm, a.so.Norm, B),
		MuPost: part(dst.MuPost, a.so.MuPost, B), SigmaPost: part(dst.SigmaPost, a.so.SigmaPost, B),
		Proj: part(dst.Proj, a.so.Proj, B*N*K)}
	return dst, nil
}

func (a *replayAccel) secondOrderProj(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, _ *deviceBasis) (*cuda.SecondOrder, error) {
	return a.secondOrder(ctx, dst, pixels, layer, nil)
}

// BenchmarkAnalyzeHostB32 is the host's side of Analyze's first phase on
// the device path (lens.WithDevice("cuda")) for ViT-B/32 layer 9: reading
// and preprocessing the images, the records (A and W, 3,072×24 each, and
// C(I)), the cache writes and the sums, with a device that answers at once
// (replayAccel, batches of 64). Its effects-images/s bounds what the host
// can feed a GPU with this many cores; ANALYZE_IMAGES sets the images
// (default 256, 224×224 random images in memory, as BenchmarkAnalyzeCUDA).
// The model's weights are random; only its shapes matter here. The
// sub-benchmarks "recycled" and "fresh" give the device's results a
// recycled destination (what Analyze does) or a new one per batch.
func BenchmarkAnalyzeHostB32(b *testing.B) {
	m := b32(b)
	n := 256
	if s := os.Getenv("ANALYZE_IMAGES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	prepareLayer(b, m, 9)
	src := images(n, 224)
	for _, fresh := range []bool{false, true} {
		name := "recycled"
		if fresh {
			name = "fresh"
		}
		b.Run(name, func(b *testing.B) {
			acc := newReplayAccel(m, 9, 64)
			acc.fresh = fresh
			rates := map[string]float64{}
			progress := WithProgress(func(p ProgressReport) {
				if p.Done == p.Total {
					rates[p.Phase] = p.PerSecond
				}
			})
			pt := watchPipeline(b)
			for b.Loop() {
				if _, err := Analyze(b.Context(), m, src, WithLayers(9), withAccel(acc), progress); err != nil {
					b.Fatal(err)
				}
			}
			pt.report(b)
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(rates["effects"], "effects-images/s")
			b.ReportMetric(rates["norms"], "norms-images/s")
			b.ReportMetric(rates["directions"], "directions-neurons/s")
		})
	}
}

// pipelineWatch keeps the last pipelineTimes of a benchmark's Analyze runs.
type pipelineWatch struct{ last pipelineTimes }

// watchPipeline sets pipelineHook for the benchmark's duration.
func watchPipeline(b *testing.B) *pipelineWatch {
	w := &pipelineWatch{}
	pipelineHook = func(t pipelineTimes) { w.last = t }
	b.Cleanup(func() { pipelineHook = nil })
	return w
}

// report gives the last run's stages as metrics: milliseconds per device
// batch of each stage's own work, and the shares of the phase the device
// stage spent waiting for a prepared batch (starved) or for the host to take
// its results (blocked). A device stage busy nearly all the time bounds the
// phase; a starved one waits on preprocessing, a blocked one on the records.
func (w *pipelineWatch) report(b *testing.B) {
	t := w.last
	if t.Batches == 0 || t.Wall <= 0 {
		return
	}
	perBatch := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(t.Batches) }
	b.ReportMetric(perBatch(t.Device), "device-ms/batch")
	b.ReportMetric(perBatch(t.Prepare), "prepare-ms/batch")
	b.ReportMetric(perBatch(t.Finish), "finish-ms/batch")
	b.ReportMetric(100*t.Starved.Seconds()/t.Wall.Seconds(), "starved-%")
	b.ReportMetric(100*t.Blocked.Seconds()/t.Wall.Seconds(), "blocked-%")
}

// images is a source of n random size×size images held in memory.
func images(n, size int) Source {
	imgs := make([]image.Image, n)
	for i := range imgs {
		imgs[i] = randomImage(uint64(1000+i), size, size)
	}
	return Generator(n, func(i int) (image.Image, error) { return imgs[i], nil })
}

// prepareLayer builds the per-layer quantities Analyze's device path
// caches on m (u vectors, Gram matrix, device basis), so that benchmarks
// time the images alone.
func prepareLayer(b *testing.B, m *clip.Model, layer int) {
	u, err := secondOf(m, layer)
	if err == nil {
		_, err = gramOf(m, layer)
	}
	if err == nil {
		_, err = basisOf(m, u)
	}
	if err != nil {
		b.Fatal(err)
	}
}
