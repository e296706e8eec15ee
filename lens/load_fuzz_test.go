package lens

import (
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// FuzzLoad feeds Load a results folder whose index.json and one of whose
// arrays are arbitrary bytes: it must return results or an error, never
// panic. Seeds: a valid folder's own files.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	const N, d, k, M = 3, 2, 2, 4
	st := &Stats{Layer: 1, Images: M, K: k,
		Mean: mat.NewDense(N, d, nil), Top: []int{0, 1, 2, 3, 1, 0}, TopNorms: make([]float64, N*k),
		Threshold: make([]float64, N), Significant: make([]float64, N),
		Direction: mat.NewDense(N, d, []float64{1, 0, 0, 1, 1, 0}), Explained: make([]float64, N)}
	res := &Results{IDs: []string{"a", "b", "c", "d"}, K: k, Layers: []*Stats{st}}
	if err := res.Save(dir); err != nil {
		f.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		f.Fatal(err)
	}
	top, err := os.ReadFile(filepath.Join(dir, "layer1_top.npy"))
	if err != nil {
		f.Fatal(err)
	}
	mean, err := os.ReadFile(filepath.Join(dir, "layer1_mean.npy"))
	if err != nil {
		f.Fatal(err)
	}
	// The array replaced is chosen among the folder's files by number.
	files := []string{"layer1_mean.npy", "layer1_top.npy", "layer1_top_norms.npy", "layer1_threshold.npy",
		"layer1_significant.npy", "layer1_direction.npy", "layer1_explained.npy", "ids.json"}
	f.Add(index, uint8(1), top)
	f.Add(index, uint8(0), mean)
	f.Add([]byte(`{"format":"neuronlens.lens.stats/1","ids":"../ids.json"}`), uint8(7), []byte{})
	f.Fuzz(func(t *testing.T, index []byte, which uint8, array []byte) {
		name := files[int(which)%len(files)]
		tmp := t.TempDir()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, "index.json"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), array, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Load(tmp)
		if err != nil {
			return
		}
		// What loads is usable: every array has its stated size and every
		// top image is an image.
		for _, s := range r.Layers {
			n, dd := s.Mean.Dims()
			if len(s.Top) != n*s.K || len(s.TopNorms) != n*s.K || len(s.Threshold) != n || len(s.Significant) != n || len(s.Explained) != n {
				t.Fatalf("layer %d: arrays of the wrong length", s.Layer)
			}
			if rr, cc := s.Direction.Dims(); rr != n || cc != dd {
				t.Fatalf("layer %d: direction [%d %d], mean [%d %d]", s.Layer, rr, cc, n, dd)
			}
			for _, i := range s.Top {
				if i < 0 || i >= s.Images {
					t.Fatalf("layer %d: top image %d of %d", s.Layer, i, s.Images)
				}
			}
		}
	})
}
