package lens

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Sums is the first-phase accumulator of one layer: sums over images of the
// alpha-space records, enough for the mean effects. Sums of disjoint shards
// merge by addition, so the images may be split over machines.
//
//	mean_n = U_nᵀ (A_n / Count) + C / Count
type Sums struct {
	Layer, N, K, D int // D here is the embedding dimension d
	Count          int
	A              []float64 // [N, K]: Σ_I s(I)·α_n^k(I)
	W              []float64 // [N, K]: Σ_I U_n C(I), for centred norms
	C              []float64 // [d]: Σ_I C(I)
}

// NewSums returns empty sums for a layer with N neurons, K (block, head)
// pairs after it and embedding dimension d.
func NewSums(layer, N, K, d int) *Sums {
	return &Sums{Layer: layer, N: N, K: K, D: d, A: make([]float64, N*K), W: make([]float64, N*K), C: make([]float64, d)}
}

func (s *Sums) add(a, w, c []float32) {
	s.Count++
	for i, v := range a {
		s.A[i] += float64(v)
	}
	for i, v := range w {
		s.W[i] += float64(v)
	}
	for i, v := range c {
		s.C[i] += float64(v)
	}
}

// addBatch adds layer j of the records in views, in their order, as add
// would one after the other (the same sums, bit for bit), split over
// workers by ranges of entries.
func (s *Sums) addBatch(views [][]layerView, j, workers int) {
	if len(views) == 0 {
		return
	}
	s.Count += len(views)
	part := func(dst []float64, get func(v layerView) []float32) {
		parallelBlocks(len(dst), min(workers, max(1, len(dst)/8192)), func(lo, hi int) {
			acc := dst[lo:hi]
			for _, v := range views {
				for i, x := range get(v[j])[lo:hi] {
					acc[i] += float64(x)
				}
			}
		})
	}
	part(s.A, func(v layerView) []float32 { return v.A })
	part(s.W, func(v layerView) []float32 { return v.W })
	part(s.C, func(v layerView) []float32 { return v.C })
}

// Merge adds o into s. It is an error if they describe different layers or shapes.
func (s *Sums) Merge(o *Sums) error {
	if s.Layer != o.Layer || s.N != o.N || s.K != o.K || s.D != o.D {
		return fmt.Errorf("lens: merging sums of layer %d [%d %d %d] into layer %d [%d %d %d]",
			o.Layer, o.N, o.K, o.D, s.Layer, s.N, s.K, s.D)
	}
	s.Count += o.Count
	for i, v := range o.A {
		s.A[i] += v
	}
	for i, v := range o.W {
		s.W[i] += v
	}
	for i, v := range o.C {
		s.C[i] += v
	}
	return nil
}

// means returns ā [N, K], w̄ [N, K] and C̄ [d].
func (s *Sums) means() (a, w, c []float64) {
	inv := 1 / float64(max(s.Count, 1))
	scale := func(x []float64) []float64 {
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = v * inv
		}
		return y
	}
	return scale(s.A), scale(s.W), scale(s.C)
}

// Tops is the second-phase accumulator of one layer: per neuron, the k
// images with the largest centred norm ‖φ_n(I) - mean_n‖ seen so far, with
// the alpha-space state needed to rebuild their centred effects. Tops of
// disjoint shards, computed against the same merged [Sums], merge.
type Tops struct {
	Layer, N, K, D, k int
	Count             int
	heaps             [][]topEntry      // per neuron: a min-heap, the weakest entry first
	cs                map[int][]float32 // image index → C(I) [d], for images some heap holds
}

type topEntry struct {
	norm  float64
	index int       // image index in the source
	a     []float32 // the image's A_n [K]
}

// NewTops returns an empty accumulator keeping k images per neuron.
func NewTops(layer, N, K, d, k int) *Tops {
	return &Tops{Layer: layer, N: N, K: K, D: d, k: k, heaps: make([][]topEntry, N), cs: map[int][]float32{}}
}

// weaker orders entries: smaller norm first, and for equal norms the later
// image first, so that the kept set does not depend on the order of arrival.
func weaker(x, y topEntry) bool {
	if x.norm != y.norm {
		return x.norm < y.norm
	}
	return x.index > y.index
}

// offer considers image index for neuron n; it reports whether the image was kept.
func (t *Tops) offer(n int, e topEntry) bool {
	h := t.heaps[n]
	if len(h) < t.k {
		h = append(h, e)
		up(h, len(h)-1)
		t.heaps[n] = h
		return true
	}
	if !weaker(h[0], e) {
		return false
	}
	h[0] = e
	down(h, 0)
	return true
}

func up(h []topEntry, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !weaker(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func down(h []topEntry, i int) {
	for {
		l, s := 2*i+1, i
		if l < len(h) && weaker(h[l], h[s]) {
			s = l
		}
		if r := l + 1; r < len(h) && weaker(h[r], h[s]) {
			s = r
		}
		if s == i {
			return
		}
		h[i], h[s] = h[s], h[i]
		i = s
	}
}

// addImage offers one image to every neuron: norms [N], A [N, K], C [d].
func (t *Tops) addImage(index int, norms []float64, a, c []float32) {
	t.Count++
	K := t.K
	kept := false
	for n, v := range norms {
		if len(t.heaps[n]) == t.k && !weaker(t.heaps[n][0], topEntry{norm: v, index: index}) {
			continue
		}
		if t.offer(n, topEntry{norm: v, index: index, a: slices.Clone(a[n*K : (n+1)*K])}) {
			kept = true
		}
	}
	if kept {
		t.cs[index] = slices.Clone(c)
	}
}

// Merge adds the images of o (a disjoint shard) into t.
func (t *Tops) Merge(o *Tops) error {
	if t.Layer != o.Layer || t.N != o.N || t.K != o.K || t.D != o.D || t.k != o.k {
		return fmt.Errorf("lens: merging top-%d of layer %d into top-%d of layer %d (or shapes differ)", o.k, o.Layer, t.k, t.Layer)
	}
	t.Count += o.Count
	for n, h := range o.heaps {
		for _, e := range h {
			t.offer(n, e)
		}
	}
	for i, c := range o.cs {
		t.cs[i] = c
	}
	t.prune()
	return nil
}

// prune drops the C(I) of images no heap holds any more.
func (t *Tops) prune() {
	used := make(map[int]bool, len(t.cs))
	for _, h := range t.heaps {
		for _, e := range h {
			used[e.index] = true
		}
	}
	for i := range t.cs {
		if !used[i] {
			delete(t.cs, i)
		}
	}
}

// sorted returns neuron n's entries by decreasing norm (ties: earlier image first).
func (t *Tops) sorted(n int) []topEntry {
	h := slices.Clone(t.heaps[n])
	slices.SortFunc(h, func(x, y topEntry) int {
		if weaker(x, y) {
			return 1
		}
		if weaker(y, x) {
			return -1
		}
		return cmp.Compare(x.index, y.index)
	})
	return h
}

// centredNorm2 is ‖φ_n - mean_n‖² in alpha-space for one neuron:
//
//	β = A_n - ā_n,  c = C - C̄
//	‖U_nᵀ β + c‖² = βᵀ G_n β + 2 βᵀ (W_n - w̄_n) + ‖c‖²
//
// with W_n = U_n C and w̄_n its mean; cc is ‖c‖². The result is clamped at 0.
func centredNorm2(G []float64, a []float32, abar []float64, w []float32, wbar []float64, cc float64, beta []float64) float64 {
	K := len(abar)
	a, w, wbar, beta = a[:K], w[:K], wbar[:K], beta[:K]
	for i := range K {
		beta[i] = float64(a[i]) - abar[i]
	}
	// G is symmetric: βᵀGβ = Σ_i β_i (G_ii β_i + 2 Σ_{j>i} G_ij β_j), half
	// the products. Four partial sums: the additions' latency, not the
	// multiplications, bounds a single running sum.
	q := cc
	for i := range K {
		row := G[i*K : (i+1)*K : (i+1)*K]
		var s0, s1, s2, s3 float64
		j := i + 1
		for ; j+4 <= K; j += 4 {
			r, b := row[j:j+4:j+4], beta[j:j+4:j+4]
			s0 += r[0] * b[0]
			s1 += r[1] * b[1]
			s2 += r[2] * b[2]
			s3 += r[3] * b[3]
		}
		for ; j < K; j++ {
			s0 += row[j] * beta[j]
		}
		q += beta[i] * (row[i]*beta[i] + 2*((s0+s1)+(s2+s3)+(float64(w[i])-wbar[i])))
	}
	return math.Max(q, 0)
}
