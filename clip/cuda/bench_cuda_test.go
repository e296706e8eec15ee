//go:build cuda && cgo

package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/internal/torchexport"
	"github.com/stretchr/testify/require"
)

func skipWithoutGPU(b *testing.B) {
	if err := Available(); err != nil {
		b.Skipf("no usable GPU: %v", err)
	}
}

// BenchmarkEncode is the forward pass of the image tower, pixels uploaded
// from host memory and embeddings downloaded, for the released sizes.
func BenchmarkEncode(b *testing.B) {
	skipWithoutGPU(b)
	for _, name := range []string{"B32", "B16", "L14"} {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/batch%d", name, batch), func(b *testing.B) {
				m := randomModel(b, name, sizes[name], 1)
				enc := newEncoderOrSkip(b, m)
				pix := randomPixels(batch, 224, 1)
				if _, err := enc.EncodeBatch(b.Context(), pix); err != nil { // allocates the buffers
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := enc.EncodeBatch(b.Context(), pix); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// BenchmarkSecondOrder is the Analyze-style per-batch work for layer 9 of
// ViT-B/32: the forward pass plus the alphas and their sums, downloaded,
// into new arrays per call ("B32/layer9/batch64") or into one recycled
// destination, as Analyze does (".../recycled"). Compare with
// BenchmarkEncode/B32/batch64 for the lens's overhead.
func BenchmarkSecondOrder(b *testing.B) {
	skipWithoutGPU(b)
	for _, batch := range []int{64} {
		for _, recycled := range []bool{false, true} {
			name := fmt.Sprintf("B32/layer9/batch%d", batch)
			if recycled {
				name += "/recycled"
			}
			b.Run(name, func(b *testing.B) {
				m := randomModel(b, "B32", sizes["B32"], 1)
				enc := newEncoderOrSkip(b, m)
				pix := randomPixels(batch, 224, 1)
				so, err := enc.SecondOrder(b.Context(), pix, 9, nil)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					var dst *SecondOrder
					if recycled {
						dst = so
					}
					if so, err = enc.SecondOrderProj(b.Context(), dst, pix, 9, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// TestExportForTorch writes, when NEURONLENS_EXPORT names a directory, a
// random ViT-B/32 image tower as .npy files named by checkpoint key, four
// images and their embeddings from the CPU and (when there is a GPU) from
// this package, for testdata/bench/torch_compare.py to check against PyTorch.
func TestExportForTorch(t *testing.T) {
	dir := os.Getenv("NEURONLENS_EXPORT")
	if dir == "" {
		t.Skip("NEURONLENS_EXPORT not set")
	}
	cfg := sizes["B32"]
	m := randomModel(t, "B32", cfg, 3)
	require.NoError(t, torchexport.Vision(dir, m))
	c := cfg.Vision
	put := func(key string, x []float32, shape ...int) {
		require.NoError(t, npy.WriteFile(filepath.Join(dir, key+".npy"), shape, x))
	}
	pix := randomPixels(4, c.ImageSize, 21)
	flat, cpu := make([]float32, 0, 4*3*224*224), make([]float32, 0, 4*cfg.EmbedDim)
	for _, px := range pix {
		flat = append(flat, px...)
		e, err := m.EncodePixels(px)
		require.NoError(t, err)
		cpu = append(cpu, e...)
	}
	put("pixels", flat, 4, 3, c.ImageSize, c.ImageSize)
	put("emb_cpu", cpu, 4, cfg.EmbedDim)
	if Available() == nil {
		enc := newEncoderOrSkip(t, m)
		got, err := enc.EncodeBatch(t.Context(), pix)
		require.NoError(t, err)
		var gpu []float32
		for _, g := range got {
			gpu = append(gpu, g...)
		}
		put("emb_gpu", gpu, 4, cfg.EmbedDim)
	}
}
