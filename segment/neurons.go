package segment

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Directions holds each layer's neuron directions: Directions[l] is
// [N, d], row n the unit direction r_n of neuron n of block l (the first
// right singular vector of its top second-order effects; METHOD.md §2). The
// lens statistics provide them; examples/analyze writes them as
// layer_<l>_directions.npy.
type Directions map[int]*mat.Dense

// Neuron is one MLP neuron chosen for a heatmap.
type Neuron struct {
	Layer int     // block l
	Index int     // channel n in [0, N)
	Coef  float64 // <r_n, class embedding>, 0 when the direction is unknown
}

// PaperLayers and PaperNeurons are the paper's choice for ViT-B/32 (12
// blocks, N = 3072): layers 8, 9 and 10 together, 200 neurons.
var PaperLayers = []int{8, 9, 10}

// PaperNeurons is the number of neurons the paper averages (see [PaperLayers]).
const PaperNeurons = 200

// DefaultLayers is the paper's choice of layers scaled to a tower of L
// blocks: the three blocks before the last one, L−4, L−3 and L−2 (8, 9 and
// 10 for L = 12), clamped at 0, without repeats.
func DefaultLayers(L int) []int {
	var out []int
	for l := L - 4; l <= L-2; l++ {
		if l := max(l, 0); !slices.Contains(out, l) && l < max(L, 1) {
			out = append(out, l)
		}
	}
	return out
}

// DefaultNeuronCount is the paper's 200 neurons of N = 3072 per layer
// scaled in proportion to N: round(200·N/3072), at least 1.
func DefaultNeuronCount(N int) int {
	return max(1, int(math.Round(float64(PaperNeurons)*float64(N)/3072)))
}

// checkDirections returns N, the neurons per layer, after checking that
// every layer is present with d columns and the same number of rows.
func checkDirections(dirs Directions, layers []int, d int) (int, error) {
	if len(layers) == 0 {
		return 0, fmt.Errorf("segment: no layers")
	}
	N := -1
	for _, l := range layers {
		r, ok := dirs[l]
		if !ok || r == nil {
			return 0, fmt.Errorf("segment: no neuron directions for layer %d", l)
		}
		rows, cols := r.Dims()
		if cols != d {
			return 0, fmt.Errorf("segment: layer %d directions are [%d %d], want %d columns (the embedding dimension)", l, rows, cols, d)
		}
		if N >= 0 && rows != N {
			return 0, fmt.Errorf("segment: layer %d has %d neuron directions, layer %d has %d", l, rows, layers[0], N)
		}
		N = rows
	}
	return N, nil
}

// coefs returns <r_n, class> for every neuron of every layer, layer-major.
func coefs(dirs Directions, layers []int, N int, class []float32) []float64 {
	c := make([]float64, 0, len(layers)*N)
	for _, l := range layers {
		r := dirs[l].RawMatrix()
		for n := range N {
			row := r.Data[n*r.Stride : n*r.Stride+r.Cols]
			var s float64
			for k, v := range row {
				s += v * float64(class[k])
			}
			c = append(c, s)
		}
	}
	return c
}

// SelectNeurons returns the k neurons of the given layers, taken together,
// with the largest |<r_n, class>| (sign ignored), largest first; ties go to
// the lower layer, then the lower index. class is a class embedding [d]
// (a classifier row). It returns an error if a layer has no directions, the
// layers disagree on N or d, or k is not in 1..N·len(layers).
func SelectNeurons(dirs Directions, layers []int, class []float32, k int) ([]Neuron, error) {
	N, err := checkDirections(dirs, layers, len(class))
	if err != nil {
		return nil, err
	}
	if k < 1 || k > N*len(layers) {
		return nil, fmt.Errorf("segment: %d neurons asked of %d", k, N*len(layers))
	}
	c := coefs(dirs, layers, N, class)
	idx := make([]int, len(c))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(math.Abs(c[b]), math.Abs(c[a])) })
	out := make([]Neuron, k)
	for i, j := range idx[:k] {
		out[i] = Neuron{Layer: layers[j/N], Index: j % N, Coef: c[j]}
	}
	return out, nil
}

// RandomNeurons returns k distinct neurons drawn uniformly from the N
// neurons of each of the layers (the paper's baseline), in draw order,
// with Coef = <r_n, class> as in [SelectNeurons]. The draw depends only on
// (seed, stream): the reference draws once per class, and [Segmenter] passes
// the class index as the stream. Errors are those of [SelectNeurons].
func RandomNeurons(dirs Directions, layers []int, class []float32, k int, seed, stream uint64) ([]Neuron, error) {
	N, err := checkDirections(dirs, layers, len(class))
	if err != nil {
		return nil, err
	}
	total := N * len(layers)
	if k < 1 || k > total {
		return nil, fmt.Errorf("segment: %d neurons asked of %d", k, total)
	}
	c := coefs(dirs, layers, N, class)
	r := rand.New(rand.NewPCG(seed, stream))
	perm := make([]int, total)
	for i := range perm {
		perm[i] = i
	}
	out := make([]Neuron, k)
	for i := range k { // partial Fisher–Yates
		j := i + r.IntN(total-i)
		perm[i], perm[j] = perm[j], perm[i]
		out[i] = Neuron{Layer: layers[perm[i]/N], Index: perm[i] % N, Coef: c[perm[i]]}
	}
	return out, nil
}

// Weighting says how the chosen neurons' activations are combined.
type Weighting uint8

const (
	// MeanWeight is the paper's plain mean over the neurons.
	MeanWeight Weighting = iota
	// SignWeight (beyond the paper) weighs neuron n by sign(Coef_n)/k, so
	// neurons whose direction opposes the class count against it.
	SignWeight
	// CoefWeight (beyond the paper) weighs neuron n by Coef_n / Σ|Coef|.
	CoefWeight
)

// String returns "mean", "sign" or "coef".
func (w Weighting) String() string {
	switch w {
	case MeanWeight:
		return "mean"
	case SignWeight:
		return "sign"
	case CoefWeight:
		return "coef"
	}
	return fmt.Sprintf("Weighting(%d)", uint8(w))
}

// ParseWeighting reads "mean", "sign" or "coef".
func ParseWeighting(s string) (Weighting, error) {
	for w := range CoefWeight + 1 {
		if w.String() == s {
			return w, nil
		}
	}
	return 0, fmt.Errorf("segment: unknown weighting %q (want mean, sign or coef)", s)
}

// weights returns the per-neuron weights of w.
func (w Weighting) weights(ns []Neuron) []float32 {
	out := make([]float32, len(ns))
	switch w {
	case MeanWeight:
		for i := range out {
			out[i] = 1 / float32(len(ns))
		}
	case SignWeight:
		for i, n := range ns {
			switch {
			case n.Coef > 0:
				out[i] = 1 / float32(len(ns))
			case n.Coef < 0:
				out[i] = -1 / float32(len(ns))
			}
		}
	case CoefWeight:
		var s float64
		for _, n := range ns {
			s += math.Abs(n.Coef)
		}
		if s > 0 {
			for i, n := range ns {
				out[i] = float32(n.Coef / s)
			}
		}
	default:
		panic(fmt.Sprintf("segment: unknown weighting %d", w))
	}
	return out
}

// NeuronMap is the paper's patch map: the weighted activations of the
// chosen neurons at every patch token,
//
//	grid[t−1] = Σ_i w_i · p_{l_i}[t, n_i]    for t = 1 .. T−1 (CLS dropped)
//
// with w_i from the weighting (1/k for [MeanWeight]). acts[l] is block l's
// MLP post-activation [T, N], row-major (acts[l][t*N+n]); the result is the
// patch grid [g, g], g² = T−1, row-major in the model's patch order. It
// panics if a neuron's layer is missing from acts, a slice is not T·N long
// or an index is out of range.
func NeuronMap(acts map[int][]float32, T, N int, ns []Neuron, w Weighting) []float32 {
	grid := make([]float32, T-1)
	ws := w.weights(ns)
	for i, n := range ns {
		a, ok := acts[n.Layer]
		if !ok || len(a) != T*N || n.Index < 0 || n.Index >= N {
			panic(fmt.Sprintf("segment: NeuronMap: neuron %d of layer %d: activations %d long, want [%d %d]", n.Index, n.Layer, len(a), T, N))
		}
		wi := ws[i]
		for t := 1; t < T; t++ {
			grid[t-1] += wi * a[t*N+n.Index]
		}
	}
	return grid
}
