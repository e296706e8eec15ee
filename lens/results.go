package lens

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/internal/npy"
)

// Stats are the dataset statistics of the second-order effects of one MLP
// layer (METHOD.md §2). N neurons, embedding dimension d, K top images.
type Stats struct {
	Layer  int
	Images int // images analysed
	K      int // top images per neuron: min(k, Images)

	// Units of the effects the statistics were made from.
	RawScale, WithoutSharedTerm bool

	Mean *mat.Dense // [N, d]: mean_n, the average effect

	// Top is [N, K], row-major: Top[n*K+r] is the index (into Results.IDs)
	// of the image with the r-th largest centred norm ‖φ_n - mean_n‖;
	// TopNorms holds those norms, decreasing along each row.
	Top      []int
	TopNorms []float64

	// Threshold [N] is the K-th largest centred norm. An effect is
	// significant on an image when its centred norm exceeds it; Significant
	// [N] is the fraction of the images where it does.
	Threshold   []float64
	Significant []float64

	// Direction is [N, d]: r_n, the first right singular vector of the K×d
	// matrix of the top images' centred effects (not centred again), signed
	// so that more than K/2 of those rows project positively (ties: so that
	// the row projecting farthest projects positively).
	Direction *mat.Dense
	// Explained [N] is σ_1²/Σσ² of that matrix: the share of the top
	// images' squared centred norm that r_n explains.
	Explained []float64
}

// Results are what [Analyze] returns: one Stats per layer, in increasing
// layer order, and the ids of the images.
type Results struct {
	IDs                         []string // IDs[i] is the id of source image i
	K                           int
	RawScale, WithoutSharedTerm bool
	Layers                      []*Stats
}

// Layer returns the Stats of layer l, or nil.
func (r *Results) Layer(l int) *Stats {
	for _, s := range r.Layers {
		if s.Layer == l {
			return s
		}
	}
	return nil
}

// index.json, the entry point for other languages.
type indexJSON struct {
	Format     string      `json:"format"`
	Images     int         `json:"images"`
	K          int         `json:"k"`
	Scale      string      `json:"scale"` // "paper" (×100/‖f‖) or "raw"
	SharedTerm bool        `json:"shared_term"`
	IDs        string      `json:"ids"` // a JSON list of strings
	Layers     []layerJSON `json:"layers"`
}

type layerJSON struct {
	Layer   int               `json:"layer"`
	Neurons int               `json:"neurons"`
	Dim     int               `json:"dim"`
	K       int               `json:"k"`
	Images  int               `json:"images"`
	Files   map[string]string `json:"files"` // name → .npy file in the same folder
}

const resultsFormat = "neuronlens.lens.stats/1"

// Save writes r into dir (created if needed): index.json, ids.json and per
// layer the .npy files layer<l>_{mean,top,top_norms,threshold,significant,
// direction,explained}.npy, float64 except top (int64). Each file is
// written atomically.
func (r *Results) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lens: %w", err)
	}
	idx := indexJSON{Format: resultsFormat, Images: len(r.IDs), K: r.K, Scale: "paper", SharedTerm: !r.WithoutSharedTerm, IDs: "ids.json"}
	if r.RawScale {
		idx.Scale = "raw"
	}
	if err := writeJSON(filepath.Join(dir, "ids.json"), r.IDs); err != nil {
		return err
	}
	for _, s := range r.Layers {
		N, d := s.Mean.Dims()
		lj := layerJSON{Layer: s.Layer, Neurons: N, Dim: d, K: s.K, Images: s.Images, Files: map[string]string{}}
		put := func(name string, shape []int, data any) error {
			file := fmt.Sprintf("layer%d_%s.npy", s.Layer, name)
			lj.Files[name] = file
			return npy.WriteFile(filepath.Join(dir, file), shape, data)
		}
		top := make([]int64, len(s.Top))
		for i, v := range s.Top {
			top[i] = int64(v)
		}
		for _, e := range []error{
			put("mean", []int{N, d}, s.Mean.RawMatrix().Data),
			put("top", []int{N, s.K}, top),
			put("top_norms", []int{N, s.K}, s.TopNorms),
			put("threshold", []int{N}, s.Threshold),
			put("significant", []int{N}, s.Significant),
			put("direction", []int{N, d}, s.Direction.RawMatrix().Data),
			put("explained", []int{N}, s.Explained),
		} {
			if e != nil {
				return fmt.Errorf("lens: %w", e)
			}
		}
		idx.Layers = append(idx.Layers, lj)
	}
	return writeJSON(filepath.Join(dir, "index.json"), idx)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("lens: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("lens: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("lens: %w", err)
	}
	return nil
}

// ErrFormat is returned, wrapped, when a results folder is not one that
// [Results.Save] wrote.
var ErrFormat = errors.New("lens: not a neuronlens results folder")

// Load reads results written by [Results.Save]. Errors name the file.
func Load(dir string) (*Results, error) {
	var idx indexJSON
	path := filepath.Join(dir, "index.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	if err := json.Unmarshal(b, &idx); err != nil || idx.Format != resultsFormat {
		return nil, fmt.Errorf("lens: %s: %w", path, ErrFormat)
	}
	r := &Results{K: idx.K, RawScale: idx.Scale == "raw", WithoutSharedTerm: !idx.SharedTerm}
	// Every file named by the index must lie in the folder.
	local := func(name string) (string, error) {
		if name == "" || !filepath.IsLocal(name) {
			return "", fmt.Errorf("lens: %s names file %q outside the folder: %w", path, name, ErrFormat)
		}
		return filepath.Join(dir, name), nil
	}
	idsPath, err := local(idx.IDs)
	if err != nil {
		return nil, err
	}
	b, err = os.ReadFile(idsPath)
	if err != nil {
		return nil, fmt.Errorf("lens: %w", err)
	}
	if err := json.Unmarshal(b, &r.IDs); err != nil {
		return nil, fmt.Errorf("lens: %s: %w", idsPath, err)
	}
	seen := map[int]bool{}
	for _, lj := range idx.Layers {
		N, d, k := lj.Neurons, lj.Dim, lj.K
		switch {
		case seen[lj.Layer]:
			return nil, fmt.Errorf("lens: %s: layer %d twice: %w", path, lj.Layer, ErrFormat)
		case N < 1 || d < 1 || k < 1 || lj.Images < k:
			return nil, fmt.Errorf("lens: %s: layer %d: %d neurons, dimension %d, top %d of %d images: %w", path, lj.Layer, N, d, k, lj.Images, ErrFormat)
		case len(r.IDs) > 0 && lj.Images != len(r.IDs):
			return nil, fmt.Errorf("lens: %s: layer %d: %d images, %d ids: %w", path, lj.Layer, lj.Images, len(r.IDs), ErrFormat)
		}
		seen[lj.Layer] = true
		get := func(name string, shape ...int) (*npy.Array, error) {
			p, err := local(lj.Files[name])
			if err != nil {
				return nil, err
			}
			a, err := npy.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("lens: %w", err)
			}
			if fmt.Sprint(a.Shape) != fmt.Sprint(shape) {
				return nil, fmt.Errorf("lens: %s: shape %v, want %v: %w", p, a.Shape, shape, ErrFormat)
			}
			return a, nil
		}
		s := &Stats{Layer: lj.Layer, Images: lj.Images, K: k, RawScale: r.RawScale, WithoutSharedTerm: r.WithoutSharedTerm}
		arrays := map[string]*npy.Array{}
		for name, shape := range map[string][]int{
			"mean": {N, d}, "top": {N, k}, "top_norms": {N, k}, "threshold": {N},
			"significant": {N}, "direction": {N, d}, "explained": {N},
		} {
			a, err := get(name, shape...)
			if err != nil {
				return nil, err
			}
			arrays[name] = a
		}
		s.Mean = mat.NewDense(N, d, arrays["mean"].Float64())
		s.Top = arrays["top"].Int()
		for _, i := range s.Top {
			if i < 0 || i >= lj.Images {
				return nil, fmt.Errorf("lens: %s: layer %d: top image %d of %d: %w", path, lj.Layer, i, lj.Images, ErrFormat)
			}
		}
		s.TopNorms = arrays["top_norms"].Float64()
		s.Threshold = arrays["threshold"].Float64()
		s.Significant = arrays["significant"].Float64()
		s.Direction = mat.NewDense(N, d, arrays["direction"].Float64())
		s.Explained = arrays["explained"].Float64()
		r.Layers = append(r.Layers, s)
	}
	return r, nil
}
