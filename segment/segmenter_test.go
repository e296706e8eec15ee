package segment

import (
	"context"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

// segTinyModel is a random 3-block image tower (S = 32, patch 8, D = 16,
// H = 2, N = 64, d = 8) whose biases and LayerNorm parameters are random
// too, so that every term of TextSpanMap is exercised.
func segTinyModel(t testing.TB) *clip.Model {
	t.Helper()
	m, err := clip.New(clip.Config{
		EmbedDim: 8, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 32, PatchSize: 8, Width: 16, Layers: 3, Heads: 2, MLPWidth: 64},
	})
	require.NoError(t, err)
	m.InitRandom(3)
	r := rand.New(rand.NewPCG(5, 6))
	fill := func(x []float32, mean, std float64) {
		for i := range x {
			x[i] = float32(mean + std*r.NormFloat64())
		}
	}
	v := m.Visual
	for _, b := range v.Blocks {
		fill(b.LN1.W.Data().F32(), 1, 0.2)
		fill(b.LN1.B.Data().F32(), 0, 0.1)
		fill(b.Attn.InProj.B.Data().F32(), 0, 0.1)
		fill(b.Attn.OutProj.B.Data().F32(), 0, 0.1)
		fill(b.MLP.CFC.B.Data().F32(), 0, 0.1)
	}
	fill(v.LNPost.W.Data().F32(), 1, 0.2)
	fill(v.LNPost.B.Data().F32(), 0, 0.1)
	return m
}

func segPixels(m *clip.Model, seed uint64) []float32 {
	S := m.Config.Vision.ImageSize
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]float32, 3*S*S)
	for i := range p {
		p[i] = float32(r.NormFloat64())
	}
	return p
}

// segTextSpanLiteral follows the formula of TextSpanMap term by term, per
// (l, h, t) in D-space, from the residual stream alone (LayerNorms
// recomputed), and also returns, per layer, the sum over every token
// (CLS included) and head of the D-space terms, which must equal the CLS row
// of the attention output.
func segTextSpanLiteral(m *clip.Model, tr *clip.Trace, layers []int, v []float32) ([]float64, [][]float64) {
	c := m.Config.Vision
	D, H, T, d, L := c.Width, c.Heads, c.Tokens(), m.Config.EmbedDim, c.Layers
	dh := D / H
	K := float64(2*L + 1)
	vt := m.Visual
	ln := func(x []float32, w, b []float32) ([]float64, float64, float64) {
		var mu, vr float64
		for _, e := range x {
			mu += float64(e)
		}
		mu /= float64(len(x))
		for _, e := range x {
			vr += (float64(e) - mu) * (float64(e) - mu)
		}
		sig := math.Sqrt(vr/float64(len(x)) + 1e-5)
		out := make([]float64, len(x))
		for i, e := range x {
			out[i] = float64(w[i])*(float64(e)-mu)/sig + float64(b[i])
		}
		return out, mu, sig
	}
	final, _ := tr.At(clip.Point{Layer: L - 1, Site: clip.ResidPost})
	_, mu, sigma := ln(final.Data[:D], vt.LNPost.W.Data().F32(), vt.LNPost.B.Data().F32())
	gamma, beta, proj := vt.LNPost.W.Data().F32(), vt.LNPost.B.Data().F32(), vt.Proj.Data().F32()
	grid := make([]float64, T-1)
	var sums [][]float64
	for _, l := range layers {
		b := vt.Blocks[l]
		resid, _ := tr.At(clip.Point{Layer: l, Site: clip.ResidPre})
		pat, _ := tr.At(clip.Point{Layer: l, Site: clip.AttnPattern})
		win, bin := b.Attn.InProj.W.Data().F32(), b.Attn.InProj.B.Data().F32()
		wo, bo := b.Attn.OutProj.W.Data().F32(), b.Attn.OutProj.B.Data().F32()
		sum := make([]float64, D)
		for tok := range T {
			xh, _, _ := ln(resid.Data[tok*D:(tok+1)*D], b.LN1.W.Data().F32(), b.LN1.B.Data().F32())
			for h := range H {
				val := make([]float64, dh)
				for i := range dh {
					row := 2*D + h*dh + i
					s := float64(bin[row])
					for k := range D {
						s += float64(win[row*D+k]) * xh[k]
					}
					val[i] = s
				}
				a := float64(pat.Data[h*T*T+tok])
				o := make([]float64, D)
				for j := range D {
					s := 0.0
					for i := range dh {
						s += float64(wo[j*D+h*dh+i]) * val[i]
					}
					o[j] = a*s + float64(bo[j])/float64(T*H)
					sum[j] += o[j]
				}
				if tok == 0 {
					continue
				}
				var e float64
				for j := range D {
					y := float64(gamma[j])*(o[j]-mu/(K*float64(T*H)))/sigma + float64(beta[j])/(K*float64(T*H))
					for k := range d {
						e += y * float64(proj[j*d+k]) * float64(v[k])
					}
				}
				grid[tok-1] += e
			}
		}
		sums = append(sums, sum)
	}
	return grid, sums
}

func TestTextSpanMapLiteral(t *testing.T) {
	m := segTinyModel(t)
	L := m.Config.Vision.Layers
	all := []int{0, 1, 2}
	var hk clip.Hooks
	var tr clip.Trace
	pts := TextSpanPoints(all)
	for _, l := range all {
		pts = append(pts, clip.Point{Layer: l, Site: clip.AttnOut})
	}
	tr.Keep(&hk, append(pts, clip.Point{Layer: L - 1, Site: clip.ResidPost})...)
	_, err := m.RunPixels(t.Context(), segPixels(m, 1), &hk)
	require.NoError(t, err)
	v := []float32{0.3, -1, 0.5, 0.2, 0, 0.7, -0.4, 1.1}
	for _, layers := range [][]int{all, {2}, {1, 2}} {
		got, err := TextSpanMap(m, &tr, layers, v)
		require.NoError(t, err)
		want, sums := segTextSpanLiteral(m, &tr, layers, v)
		numtest.Close(t, want, got, 1e-4, 1e-6, "layers", layers)
		// The terms add up to what the block's attention wrote at CLS.
		for i, l := range layers {
			out, _ := tr.At(clip.Point{Layer: l, Site: clip.AttnOut})
			numtest.Close(t, out.Data[:m.Config.Vision.Width], sums[i], 1e-4, 1e-5, "attn out of layer", l)
		}
	}
	_, err = TextSpanMap(m, &tr, []int{3}, v)
	assert.Error(t, err)
	var empty clip.Trace
	_, err = TextSpanMap(m, &empty, all, v)
	assert.Error(t, err)
}

// segRandomDirs returns random unit directions [N, d] for the given layers.
func segRandomDirs(layers []int, N, d int, seed uint64) Directions {
	r := rand.New(rand.NewPCG(seed, 2))
	dirs := Directions{}
	for _, l := range layers {
		x := mat.NewDense(N, d, nil)
		for n := range N {
			var s float64
			for k := range d {
				v := r.NormFloat64()
				x.Set(n, k, v)
				s += v * v
			}
			for k := range d {
				x.Set(n, k, x.At(n, k)/math.Sqrt(s))
			}
		}
		dirs[l] = x
	}
	return dirs
}

func segClassifier(C, d int, seed uint64) *clip.Classifier {
	r := rand.New(rand.NewPCG(seed, 3))
	c := &clip.Classifier{Dim: d, Weights: make([]float32, C*d)}
	for i := range C {
		c.Classes = append(c.Classes, string(rune('a'+i)))
		var s float64
		row := c.Weights[i*d : (i+1)*d]
		for k := range row {
			row[k] = float32(r.NormFloat64())
			s += float64(row[k]) * float64(row[k])
		}
		for k := range row {
			row[k] /= float32(math.Sqrt(s))
		}
	}
	return c
}

// TestSegmenterWiring checks that Segment does what the exported pieces do
// when put together by hand on the same forward pass.
func TestSegmenterWiring(t *testing.T) {
	m := segTinyModel(t)
	vc := m.Config.Vision
	cls := segClassifier(4, 8, 1)
	layers := DefaultLayers(vc.Layers)
	dirs := segRandomDirs(layers, vc.MLPWidth, 8, 9)
	s, err := New(m, cls, dirs, WithNeurons(10), WithSeed(4))
	require.NoError(t, err)
	px := segPixels(m, 2)
	res, err := s.SegmentPixels(t.Context(), px, -1)
	require.NoError(t, err)

	var hk clip.Hooks
	var tr clip.Trace
	pts := []clip.Point{{Layer: vc.Layers - 1, Site: clip.AttnPattern}}
	for _, l := range layers {
		pts = append(pts, clip.Point{Layer: l, Site: clip.MLPPost})
	}
	tr.Keep(&hk, append(pts, TextSpanPoints([]int{0, 1, 2})...)...)
	emb, err := m.RunPixels(context.Background(), px, &hk)
	require.NoError(t, err)
	assert.True(t, res.Predicted)
	require.Equal(t, cls.Predict(emb), res.Class)
	row := cls.Weights[res.Class*8 : (res.Class+1)*8]
	acts := map[int][]float32{}
	for _, l := range layers {
		a, _ := tr.At(clip.Point{Layer: l, Site: clip.MLPPost})
		acts[l] = a.Data
	}
	T, g := vc.Tokens(), vc.ImageSize/vc.PatchSize
	ns, err := SelectNeurons(dirs, layers, row, 10)
	require.NoError(t, err)
	assert.Equal(t, ns, res.Neurons[SecondOrder])
	want := NewHeatmap(NeuronMap(acts, T, vc.MLPWidth, ns, MeanWeight), g, vc.ImageSize, Post{})
	assert.Equal(t, want, res.Heatmaps[SecondOrder])
	rs, err := RandomNeurons(dirs, layers, row, 10, 4, uint64(res.Class))
	require.NoError(t, err)
	assert.Equal(t, rs, res.Neurons[Random])
	pat, _ := tr.At(clip.Point{Layer: vc.Layers - 1, Site: clip.AttnPattern})
	assert.Equal(t, NewHeatmap(AttentionMap(pat.Data, vc.Heads, T), g, vc.ImageSize, Post{}), res.Heatmaps[RawAttention])
	mean := make([]float32, 8)
	for c := range 4 {
		for k := range 8 {
			mean[k] += cls.Weights[c*8+k] / 4
		}
	}
	v := make([]float32, 8)
	for k := range v {
		v[k] = row[k] - mean[k]
	}
	grid, err := TextSpanMap(m, &tr, []int{0, 1, 2}, v)
	require.NoError(t, err)
	ts := NewHeatmap(grid, g, vc.ImageSize, Post{ClipNegative: true, MeanThreshold: true})
	numtest.Close(t, ts.Scores, res.Heatmaps[TextSpan].Scores, 1e-4, 1e-5)

	// A given class is used as it is; the neuron lists are cached per class.
	res2, err := s.SegmentPixels(t.Context(), px, 3)
	require.NoError(t, err)
	assert.Equal(t, 3, res2.Class)
	assert.False(t, res2.Predicted)
	_, err = s.SegmentPixels(t.Context(), px, 4)
	assert.Error(t, err)

	// Only some methods; then directions are not needed.
	s2, err := New(m, cls, nil, WithMethods(RawAttention, TextSpan), WithTextSpanLayers(1))
	require.NoError(t, err)
	res3, err := s2.SegmentPixels(t.Context(), px, 1)
	require.NoError(t, err)
	assert.Nil(t, res3.Heatmaps[SecondOrder])
	assert.Nil(t, res3.Heatmaps[Random])
	assert.NotNil(t, res3.Heatmaps[TextSpan])
	grid, err = TextSpanMap(m, &tr, []int{2}, segClassMinusMean(cls, 1))
	require.NoError(t, err)
	numtest.Close(t, NewHeatmap(grid, g, vc.ImageSize, Post{ClipNegative: true, MeanThreshold: true}).Scores, res3.Heatmaps[TextSpan].Scores, 1e-4, 1e-5)
}

func segClassMinusMean(cls *clip.Classifier, c int) []float32 {
	C, d := len(cls.Classes), cls.Dim
	v := make([]float32, d)
	for k := range d {
		var s float32
		for i := range C {
			s += cls.Weights[i*d+k]
		}
		v[k] = cls.Weights[c*d+k] - s/float32(C)
	}
	return v
}

func TestNewErrors(t *testing.T) {
	m := segTinyModel(t)
	cls := segClassifier(3, 8, 1)
	dirs := segRandomDirs([]int{0, 1}, 64, 8, 1)
	_, err := New(m, cls, dirs) // the tiny tower's default layers are 0 and 1
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		cls  *clip.Classifier
		dirs Directions
		opts []Option
	}{
		"missing layer":  {cls, dirs, []Option{WithLayers(2)}},
		"bad layer":      {cls, dirs, []Option{WithLayers(7)}},
		"classifier dim": {segClassifier(3, 4, 1), dirs, []Option{WithLayers(0)}},
		"too many":       {cls, dirs, []Option{WithLayers(0), WithNeurons(65)}},
		"wrong N":        {cls, segRandomDirs([]int{0}, 32, 8, 1), []Option{WithLayers(0)}},
		"bad method":     {cls, dirs, []Option{WithLayers(0), WithMethods(NumMethods)}},
	} {
		_, err := New(m, tc.cls, tc.dirs, tc.opts...)
		assert.Error(t, err, name)
	}
	_, err = New(m, cls, dirs, WithLayers(0, 1))
	assert.NoError(t, err)
}

func TestReferenceVsAlignedNonSquare(t *testing.T) {
	// A 64×32 mask whose left quarter (x < 16) is foreground.
	img := image.NewGray(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 16 {
			img.SetGray(x, y, color.Gray{255})
		}
	}
	ref, err := ResizeMask(img, 16, ReferenceMask)
	require.NoError(t, err)
	al, err := ResizeMask(img, 16, AlignedMask)
	require.NoError(t, err)
	for y := range 16 {
		for x := range 16 {
			// Squashed to 16×16: the left quarter stays the left quarter.
			assert.Equal(t, x < 4, ref[y*16+x] == 1, "reference (%d,%d)", x, y)
		}
	}
	// Resized to 32×16 and cropped at x = 8: the object lay at x < 8, outside.
	assert.Equal(t, make([]uint8, 256), al)

	// A square mask: the two protocols agree.
	sq := image.NewGray(image.Rect(0, 0, 40, 40))
	sq.SetGray(5, 7, color.Gray{1})
	a, _ := ResizeMask(sq, 20, ReferenceMask)
	b, _ := ResizeMask(sq, 20, AlignedMask)
	assert.Equal(t, a, b)

	_, err = ResizeMask(nil, 16, AlignedMask)
	assert.ErrorIs(t, err, ErrMask)
	_, err = ResizeMask(image.NewGray(image.Rect(0, 0, 0, 5)), 16, AlignedMask)
	assert.ErrorIs(t, err, ErrMask)
	_, err = ResizeMask(img, 0, AlignedMask)
	assert.Error(t, err)
	_, err = ResizeMask(img, 4, MaskProtocol(9))
	assert.Error(t, err)
	p, err := ParseMaskProtocol("aligned")
	require.NoError(t, err)
	assert.Equal(t, AlignedMask, p)
	_, err = ParseMaskProtocol("squash")
	assert.Error(t, err)
}

func TestBinarizeColourTypes(t *testing.T) {
	want := []uint8{0, 1, 1, 0}
	rgba := image.NewRGBA(image.Rect(0, 0, 4, 1))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	pal := image.NewPaletted(image.Rect(0, 0, 4, 1), color.Palette{color.Black, color.RGBA{0, 0, 200, 255}})
	for x, on := range want {
		if on == 1 {
			rgba.Set(x, 0, color.RGBA{0, 9, 0, 255})
			nrgba.Set(x, 0, color.NRGBA{9, 0, 0, 255})
			pal.SetColorIndex(x, 0, 1)
		}
	}
	for name, img := range map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "paletted": pal, "sub": rgba.SubImage(image.Rect(0, 0, 4, 1))} {
		assert.Equal(t, want, binarize(img), name)
	}
	// Bounds not at the origin.
	g := image.NewGray(image.Rect(10, 20, 14, 21))
	g.SetGray(11, 20, color.Gray{3})
	assert.Equal(t, []uint8{0, 1, 0, 0}, binarize(g))
}
