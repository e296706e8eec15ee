//go:build cuda && cgo

package lens

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/clip/cuda"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

// The GPU tests of the lens: every name holds "CUDA" (the device script
// runs -test.run CUDA). They skip where no GPU can be used.

func gpuOrSkip(t testing.TB) {
	t.Helper()
	if err := cuda.Available(); err != nil {
		t.Skipf("no usable GPU: %v", err)
	}
}

var (
	b32VisionOnce  sync.Once
	b32VisionModel *clip.Model
)

// b32Vision is ViT-B/32's image tower alone, with random weights, biases
// and LayerNorm parameters, built once per binary (so that the tests and
// the benchmark share its u vectors).
func b32Vision(t testing.TB) *clip.Model {
	b32VisionOnce.Do(func() {
		b32VisionModel = randomModel(t, clip.Config{EmbedDim: 512, Activation: clip.QuickGELU,
			Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 32, Width: 768, Layers: 12, Heads: 12, MLPWidth: 3072}}, 70)
	})
	return b32VisionModel
}

func TestAnalyzeCUDAMatchesCPU(t *testing.T) {
	gpuOrSkip(t)
	tiny := randomModel(t, tinyConfig(), 71)
	small := randomModel(t, smallConfig(), 72)
	for _, tc := range []struct {
		name   string
		m      *clip.Model
		layers []int
		opts   []Option
	}{
		{"tiny, all layers", tiny, []int{0, 1, 2, 3}, nil},
		{"small, X and U", small, []int{3, 4}, nil},
		{"small raw", small, []int{2, 4}, []Option{RawScale()}},
		{"small without shared term", small, []int{3}, []Option{WithoutSharedTerm()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingSource{n: 23}
			opts := append([]Option{WithLayers(tc.layers...), WithK(6)}, tc.opts...)
			want, err := Analyze(t.Context(), tc.m, src, opts...)
			require.NoError(t, err)
			got, err := Analyze(t.Context(), tc.m, src, append(opts, WithDevice("cuda"))...)
			require.NoError(t, err)
			compareResults(t, want, got, 1e-4)
		})
	}
}

// TestAnalyzeCUDAB32 is ViT-B/32 layer 9 on 64 random images, through a
// caller's encoder with device batches of 16, with pixels and results in
// ordinary memory (too few batches for page-locked memory), then in the
// encoder's page-locked memory.
func TestAnalyzeCUDAB32(t *testing.T) {
	gpuOrSkip(t)
	m := b32Vision(t)
	enc, err := cuda.NewImageEncoder(m, cuda.WithMaxBatch(16))
	require.NoError(t, err)
	defer enc.Close()
	t.Logf("device: %s", enc.Device())
	src := images(64, 224)
	opts := []Option{WithLayers(9), WithK(8)}
	want, err := Analyze(t.Context(), m, src, opts...)
	require.NoError(t, err)
	got, err := Analyze(t.Context(), m, src, append(opts, WithEncoder(enc))...)
	require.NoError(t, err)
	compareResults(t, want, got, 1e-4)

	defer func(n int) { pageLockedBatches = n }(pageLockedBatches)
	pageLockedBatches = 1
	got, err = Analyze(t.Context(), m, src, append(opts, WithEncoder(enc))...)
	require.NoError(t, err)
	compareResults(t, want, got, 1e-4)
}

func TestSecondOrderBatchCUDAMatchesCPU(t *testing.T) {
	gpuOrSkip(t)
	tiny := randomModel(t, tinyConfig(), 73)
	small := randomModel(t, smallConfig(), 74)
	for _, tc := range []struct {
		name   string
		m      *clip.Model
		layer  int
		images int
		opts   []Option
	}{
		{"tiny", tiny, 1, 5, nil},
		{"tiny last block", tiny, 3, 2, nil},
		{"small", small, 4, 5, nil},
		{"small raw without shared term", small, 2, 3, []Option{RawScale(), WithoutSharedTerm()}},
		{"B32 layer 9", b32Vision(t), 9, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var px [][]float32
			for i := range tc.images {
				px = append(px, randomPixels(tc.m, uint64(300+i)))
			}
			want, err := SecondOrderPixelsBatch(t.Context(), tc.m, px, tc.layer, tc.opts...)
			require.NoError(t, err)
			got, err := SecondOrderPixelsBatch(t.Context(), tc.m, px, tc.layer, append(tc.opts, WithDevice("cuda"))...)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for i := range want {
				w := want[i].RawMatrix().Data
				numtest.Close(t, w, got[i].RawMatrix().Data, 0, 1e-4*maxAbs(w)+1e-30, "image", i)
			}
		})
	}
}

// BenchmarkAnalyzeCUDA is Analyze of a random ViT-B/32 layer 9 on ANALYZE_IMAGES
// (default 256) random 224×224 images held in memory, through one encoder
// (u vectors, Gram matrices and weights prepared beforehand), against the
// forward pass alone on the same encoder (EncodeBatch of the preprocessed
// pixels). The analyze case reports images/s over all three phases (k =
// 100), effects-images/s for the first phase (forward passes, records,
// cache) and effects/encode, the ratio of that rate to the encoder's, and
// where the first phase's pipeline spent its time (pipelineWatch.report).
func BenchmarkAnalyzeCUDA(b *testing.B) {
	gpuOrSkip(b)
	n := 256
	if s := os.Getenv("ANALYZE_IMAGES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	m := b32Vision(b)
	enc, err := cuda.NewImageEncoder(m)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	prepareLayer(b, m, 9)
	src := images(n, 224)
	pix := make([][]float32, n)
	for i := range pix {
		_, img, _ := src.Image(i)
		if pix[i], err = clip.Preprocess(img, 224); err != nil {
			b.Fatal(err)
		}
	}
	var encodeRate float64
	b.Run("B32/encode", func(b *testing.B) {
		if _, err := enc.EncodeBatch(b.Context(), pix); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := enc.EncodeBatch(b.Context(), pix); err != nil {
				b.Fatal(err)
			}
		}
		encodeRate = float64(n*b.N) / b.Elapsed().Seconds()
		b.ReportMetric(encodeRate, "images/s")
	})
	// "analyze" lets Analyze use the encoder's page-locked memory (pixels
	// and results moved without the encoder's copies), "analyze-ordinary"
	// hides it (ordinaryMemory).
	for _, name := range []string{"analyze", "analyze-ordinary"} {
		b.Run("B32/layer9/"+name, func(b *testing.B) {
			benchAnalyzeCUDA(b, m, enc, src, n, encodeRate, name == "analyze-ordinary")
		})
	}
}

// ordinaryMemory is the encoder's accel without its page-locked memory
// (hostAccel), to measure what that memory saves.
type ordinaryMemory struct{ e *encAccel }

func (o ordinaryMemory) batch() int { return o.e.batch() }
func (o ordinaryMemory) close()     { o.e.close() }
func (o ordinaryMemory) secondOrder(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, u *secondU) (*cuda.SecondOrder, error) {
	return o.e.secondOrder(ctx, dst, pixels, layer, u)
}
func (o ordinaryMemory) secondOrderProj(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, bs *deviceBasis) (*cuda.SecondOrder, error) {
	return o.e.secondOrderProj(ctx, dst, pixels, layer, bs)
}

func benchAnalyzeCUDA(b *testing.B, m *clip.Model, enc *cuda.Encoder, src Source, n int, encodeRate float64, ordinary bool) {
	var effects float64
	opts := []Option{WithLayers(9), WithEncoder(enc), WithProgress(func(p ProgressReport) {
		if p.Phase == "effects" && p.Done == p.Total {
			effects = p.PerSecond
		}
	})}
	if ordinary {
		opts = append(opts, withAccel(ordinaryMemory{&encAccel{enc: enc, us: map[int]*cuda.UVectors{}, ps: map[int]*cuda.Projection{}}}))
	}
	pt := watchPipeline(b)
	for b.Loop() {
		if _, err := Analyze(b.Context(), m, src, opts...); err != nil {
			b.Fatal(err)
		}
	}
	pt.report(b)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(effects, "effects-images/s")
	if encodeRate > 0 {
		b.ReportMetric(effects/encodeRate, "effects/encode")
	}
}
