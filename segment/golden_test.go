package segment

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

const goldenDir = "../testdata/segment"

type goldenManifest struct {
	Upsample []string `json:"upsample"`
	AP       []string `json:"ap"`
	Masks    []struct {
		Name          string `json:"name"`
		Width, Height int
		Sizes         []int `json:"sizes"`
	} `json:"masks"`
}

func segReadManifest(t *testing.T) goldenManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "manifest.json"))
	require.NoError(t, err, "goldens missing: run testdata/segment/make_goldens.py")
	var m goldenManifest
	require.NoError(t, json.Unmarshal(b, &m))
	require.NotEmpty(t, m.Upsample)
	return m
}

func segNpy(t *testing.T, name string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(goldenDir, name))
	require.NoError(t, err)
	return a
}

func TestUpsampleTorchGoldens(t *testing.T) {
	for _, name := range segReadManifest(t).Upsample {
		t.Run(name, func(t *testing.T) {
			in, out := segNpy(t, "upsample_"+name+"_in.npy"), segNpy(t, "upsample_"+name+"_out.npy")
			require.Len(t, in.Shape, 2)
			require.Len(t, out.Shape, 2)
			got := Upsample(in.Float32(), in.Shape[0], in.Shape[1], out.Shape[0], out.Shape[1])
			numtest.Close(t, out.Float32(), got, 0, 1e-5)
		})
	}
}

func TestUpsampleIdentityAndPanics(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6}
	assert.Equal(t, src, Upsample(src, 2, 3, 2, 3))
	assert.Panics(t, func() { Upsample(src, 2, 2, 4, 4) })
	assert.Panics(t, func() { Upsample(src, 2, 3, 0, 4) })
}

func TestAveragePrecisionSklearnGoldens(t *testing.T) {
	for _, name := range segReadManifest(t).AP {
		t.Run(name, func(t *testing.T) {
			s := segNpy(t, "ap_"+name+"_scores.npy").Float32()
			l := segNpy(t, "ap_"+name+"_labels.npy").Int()
			want := segNpy(t, "ap_"+name+".npy").Float64()
			labels := make([]bool, len(l))
			for i, v := range l {
				labels[i] = v != 0
			}
			numtest.Close(t, want, []float64{AveragePrecision(s, labels)}, 0, 1e-6)
		})
	}
}

func TestAveragePrecisionEdges(t *testing.T) {
	assert.Equal(t, 0.0, AveragePrecision([]float32{0.1, 0.2}, []bool{false, false}), "no positives")
	assert.InDelta(t, 1.0, AveragePrecision([]float32{0.9, 0.1}, []bool{true, false}), 1e-12)
	// All tied: one threshold, precision = positive fraction.
	assert.InDelta(t, 0.25, AveragePrecision([]float32{0.5, 0.5, 0.5, 0.5}, []bool{true, false, false, false}), 1e-12)
	// −0 ties with +0; negative scores order correctly.
	negZero := float32(0)
	negZero = -negZero
	assert.InDelta(t, 0.5, AveragePrecision([]float32{negZero, 0}, []bool{true, false}), 1e-12)
	assert.InDelta(t, 1.0, AveragePrecision([]float32{-1, -2, -3}, []bool{true, false, false}), 1e-12)
	assert.Panics(t, func() { AveragePrecision([]float32{1}, nil) })
}

// TestMetricsGoldens runs the whole protocol (min-max, threshold 0.5,
// pixel accuracy, IoU, AP over both classes) on the golden heatmaps and
// masks, per image and merged over two shards.
func TestMetricsGoldens(t *testing.T) {
	raw := segNpy(t, "metrics_raw.npy")
	mask := segNpy(t, "metrics_mask.npy").Int()
	wantAP := segNpy(t, "metrics_ap.npy").Float64()
	counts := segNpy(t, "metrics_counts.npy").Int()
	totals := segNpy(t, "metrics_totals.npy").Float64()
	I, S := raw.Shape[0], raw.Shape[1]
	data := raw.Float32()
	var all, shardA, shardB Metrics
	for i := range I {
		s := append([]float32(nil), data[i*S*S:(i+1)*S*S]...)
		// The goldens are already at S×S: a 1×1 "upsampling" of each pixel
		// is the identity, so build the heatmap from the map itself.
		h := &Heatmap{Size: S, Scores: s, Threshold: 0.5, Flat: !normalize(s)}
		m := make([]uint8, S*S)
		for j := range m {
			m[j] = uint8(mask[i*S*S+j])
		}
		var one Metrics
		one.Add(h, m)
		c := counts[i*6 : i*6+6]
		assert.Equal(t, []int64{int64(c[0]), int64(c[1]), int64(c[2]), int64(c[3]), int64(c[4]), int64(c[5])},
			[]int64{one.Correct, one.Labeled, one.Inter[0], one.Inter[1], one.Union[0], one.Union[1]}, "image %d counts", i)
		numtest.Close(t, wantAP[i:i+1], []float64{one.APSum}, 0, 1e-6, "image", i)
		all.Add(h, m)
		if i%2 == 0 {
			shardA.Add(h, m)
		} else {
			shardB.Add(h, m)
		}
	}
	got := []float64{all.PixelAccuracy(), all.MIoU(), all.MAP()}
	numtest.Close(t, totals, got, 0, 1e-6)
	shardA.Merge(&shardB)
	numtest.Close(t, totals, []float64{shardA.PixelAccuracy(), shardA.MIoU(), shardA.MAP()}, 0, 1e-6, "merged")
	assert.Equal(t, I, shardA.Images)
}

func TestNewHeatmapPost(t *testing.T) {
	grid := []float32{-1, 0, 1, 3}
	h := NewHeatmap(grid, 2, 2, Post{})
	assert.Equal(t, []float32{0, 0.25, 0.5, 1}, h.Scores)
	assert.Equal(t, []uint8{0, 0, 0, 1}, h.Mask())
	h = NewHeatmap([]float32{-1, 0, 2, 3}, 2, 2, Post{ClipNegative: true, MeanThreshold: true})
	assert.Equal(t, []float32{0, 0, 2.0 / 3, 1}, h.Scores)
	assert.InDelta(t, (2.0/3+1)/4, h.Threshold, 1e-7)
	assert.Equal(t, []uint8{0, 0, 1, 1}, h.Mask())
	h = NewHeatmap([]float32{2, 2, 2, 2}, 2, 3, Post{})
	assert.True(t, h.Flat)
	assert.Equal(t, make([]float32, 9), h.Scores)
	assert.Panics(t, func() { NewHeatmap(grid, 3, 4, Post{}) })
}

func segDecodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// TestResizeMaskPILGoldens checks both protocols against PIL's nearest
// resize (and torchvision's Resize + CenterCrop arithmetic) on masks of
// several shapes, non-square ones among them.
func TestResizeMaskPILGoldens(t *testing.T) {
	for _, c := range segReadManifest(t).Masks {
		img := segDecodePNG(t, filepath.Join(goldenDir, "mask_"+c.Name+".png"))
		for _, S := range c.Sizes {
			for _, p := range []MaskProtocol{ReferenceMask, AlignedMask} {
				t.Run(c.Name+"/"+p.String()+"/"+strconv.Itoa(S), func(t *testing.T) {
					want := segNpy(t, "mask_"+c.Name+"_"+map[MaskProtocol]string{ReferenceMask: "ref", AlignedMask: "aligned"}[p]+"_"+strconv.Itoa(S)+".npy")
					require.Equal(t, []int{S, S}, want.Shape)
					got, err := ResizeMask(img, S, p)
					require.NoError(t, err)
					w := want.Int()
					for i := range got {
						if b := w[i] != 0; b != (got[i] == 1) {
							t.Fatalf("S=%d pixel (%d,%d): got %d, PIL %d", S, i%S, i/S, got[i], w[i])
						}
					}
				})
			}
		}
	}
}
