//go:build cuda && cgo

package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
				timeEncode(b, newEncoderOrSkip(b, m), randomPixels(batch, 224, 1))
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

// BenchmarkProfile times the kinds of operation of the forward pass at
// batch 64 (and of the lens on ViT-B/32 layer 9) on the main stream with
// timing events, and prints each kind's device milliseconds per batch and
// share. The events cost a little: take speed from BenchmarkEncode and
// proportions from here.
func BenchmarkProfile(b *testing.B) {
	skipWithoutGPU(b)
	for _, name := range []string{"B32", "B16", "L14", "B32/layer9"} {
		b.Run(name, func(b *testing.B) {
			model, lens := name, false
			if name == "B32/layer9" {
				model, lens = "B32", true
			}
			m := randomModel(b, model, sizes[model], 1)
			enc := newEncoderOrSkip(b, m)
			pix := randomPixels(64, 224, 1)
			var so *SecondOrder
			run := func() error {
				var err error
				if lens {
					so, err = enc.SecondOrderProj(b.Context(), so, pix, 9, nil, nil)
					return err
				}
				_, err = enc.EncodeBatch(b.Context(), pix)
				return err
			}
			if err := run(); err != nil { // allocates the buffers
				b.Fatal(err)
			}
			prof := newOpProfile()
			enc.eng.prof = prof
			defer func() { enc.eng.prof = nil }()
			for b.Loop() {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
			wall := 1e3 * b.Elapsed().Seconds() / float64(b.N)
			var total float64
			for _, l := range prof.order {
				total += prof.ms[l]
			}
			total /= float64(prof.calls)
			fmt.Printf("profile %s batch 64: wall %.2f ms per batch, device spans %.2f ms\n", name, wall, total)
			for _, l := range prof.order {
				ms := prof.ms[l] / float64(prof.calls)
				fmt.Printf("  %-30s %8.3f ms %5.1f%%\n", l, ms, 100*ms/total)
			}
		})
	}
}

// BenchmarkEncodeResident is BenchmarkEncode at batch 64 with the pixels
// already on the device (uploaded by the first call), as PyTorch's forward
// pass is timed with its input on the GPU: the same work on both sides.
func BenchmarkEncodeResident(b *testing.B) {
	skipWithoutGPU(b)
	for _, name := range []string{"B32", "B16", "L14"} {
		b.Run(name+"/batch64", func(b *testing.B) {
			m := randomModel(b, name, sizes[name], 1)
			enc := newEncoderOrSkip(b, m)
			pix := randomPixels(64, 224, 1)
			want, err := enc.EncodeBatch(b.Context(), pix) // uploads the pixels
			if err != nil {
				b.Fatal(err)
			}
			enc.eng.resident = true
			defer func() { enc.eng.resident = false }()
			var got [][]float32
			for b.Loop() {
				if got, err = enc.EncodeBatch(b.Context(), pix); err != nil {
					b.Fatal(err)
				}
			}
			for i := range want { // the pixels on the device are still the uploaded ones
				require.InDeltaSlice(b, want[i], got[i], 1e-5, "image %d", i)
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkEncodeBiasPass is BenchmarkEncode at batch 64 with the
// in-projection's bias added by its own pass over [B*T, 3D] instead of by
// the product (foldBias off), to measure what folding it saves.
func BenchmarkEncodeBiasPass(b *testing.B) {
	skipWithoutGPU(b)
	for _, name := range []string{"B32", "B16"} {
		b.Run(name+"/batch64", func(b *testing.B) {
			m := randomModel(b, name, sizes[name], 1)
			foldBias = false
			enc := newEncoderOrSkip(b, m)
			foldBias = true
			timeEncode(b, enc, randomPixels(64, 224, 1))
		})
	}
}

// BenchmarkStage is the pixels' way up for 64 images of 224×224: into
// page-locked memory ("copy", as stage splits it), from there to the
// device ("upload"), and both overlapped chunk by chunk as the forward
// pass does ("stage").
func BenchmarkStage(b *testing.B) {
	skipWithoutGPU(b)
	m := randomModel(b, "B32", sizes["B32"], 1)
	enc := newEncoderOrSkip(b, m)
	pix := randomPixels(64, 224, 1)
	if _, err := enc.EncodeBatch(b.Context(), pix); err != nil { // allocates the buffers
		b.Fatal(err)
	}
	e := enc.eng
	n := len(pix[0])
	for _, mode := range []string{"copy", "upload", "stage"} {
		b.Run(mode, func(b *testing.B) {
			defer e.c.Bind()()
			s := e.buf
			b.SetBytes(int64(4 * n * len(pix)))
			for b.Loop() {
				switch mode {
				case "copy":
					for lo := 0; lo < len(pix); lo += 8 {
						var wg sync.WaitGroup
						for i := lo; i < min(lo+8, len(pix)); i++ {
							wg.Go(func() { copy(s.pixHost[0][i*n:(i+1)*n], pix[i]) })
						}
						wg.Wait()
					}
				case "upload":
					e.c.UploadAsync(s.pix[0], s.pixHost[0][:n*len(pix)])
				case "stage":
					e.stage(pix, 0)
				}
				if err := e.c.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeMany is EncodeBatch on many images in one call, in device
// batches of 64: each batch's pixels are copied and uploaded while the
// device computes the previous one, so only the first upload shows.
func BenchmarkEncodeMany(b *testing.B) {
	skipWithoutGPU(b)
	for _, tc := range []struct {
		name   string
		images int
	}{{"B32", 512}, {"B16", 512}, {"L14", 256}} {
		b.Run(fmt.Sprintf("%s/images%d", tc.name, tc.images), func(b *testing.B) {
			m := randomModel(b, tc.name, sizes[tc.name], 1)
			timeEncode(b, newEncoderOrSkip(b, m, WithMaxBatch(64)), randomPixels(tc.images, 224, 1))
		})
	}
}

// timeEncode times EncodeBatch(pix) after one untimed call, which allocates
// the buffers (both staging slots when pix spans several device batches),
// and reports images/s.
func timeEncode(b *testing.B, enc *Encoder, pix [][]float32) {
	if _, err := enc.EncodeBatch(b.Context(), pix); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := enc.EncodeBatch(b.Context(), pix); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pix)*b.N)/b.Elapsed().Seconds(), "images/s")
}
