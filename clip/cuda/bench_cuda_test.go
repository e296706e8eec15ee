//go:build cuda && cgo

package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
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
	require.NoError(t, os.MkdirAll(dir, 0o755))
	cfg := sizes["B32"]
	m := randomModel(t, "B32", cfg, 3)
	v, c := m.Visual, cfg.Vision
	D, p := c.Width, c.PatchSize
	put := func(key string, x []float32, shape ...int) {
		require.NoError(t, npy.WriteFile(filepath.Join(dir, key+".npy"), shape, x))
	}
	put("visual.conv1.weight", v.Conv1.Data().F32(), D, 3, p, p)
	put("visual.class_embedding", v.ClassEmbedding.Data().F32(), D)
	put("visual.positional_embedding", v.PositionalEmbedding.Data().F32(), c.Tokens(), D)
	put("visual.ln_pre.weight", v.LNPre.W.Data().F32(), D)
	put("visual.ln_pre.bias", v.LNPre.B.Data().F32(), D)
	put("visual.ln_post.weight", v.LNPost.W.Data().F32(), D)
	put("visual.ln_post.bias", v.LNPost.B.Data().F32(), D)
	put("visual.proj", v.Proj.Data().F32(), D, cfg.EmbedDim)
	for l, b := range v.Blocks {
		pre := fmt.Sprintf("visual.transformer.resblocks.%d.", l)
		for key, lin := range map[string]*clip.Linear{"attn.in_proj_": b.Attn.InProj, "attn.out_proj.": b.Attn.OutProj, "mlp.c_fc.": b.MLP.CFC, "mlp.c_proj.": b.MLP.CProj} {
			w := lin.W.Data().F32()
			out := len(lin.B.Data().F32())
			put(pre+key+"weight", w, out, len(w)/out)
			put(pre+key+"bias", lin.B.Data().F32(), out)
		}
		for key, ln := range map[string]*clip.LayerNorm{"ln_1.": b.LN1, "ln_2.": b.LN2} {
			put(pre+key+"weight", ln.W.Data().F32(), D)
			put(pre+key+"bias", ln.B.Data().F32(), D)
		}
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
