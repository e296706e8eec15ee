package lens

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

// randomImage is a deterministic noisy picture of size w×h.
func randomImage(seed uint64, w, h int) image.Image {
	r := rand.New(rand.NewPCG(seed, 3))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	return img
}

// countingSource is a generator that counts the images it makes.
type countingSource struct {
	n      int
	made   atomic.Int64
	onMake func(made int64)
}

func (s *countingSource) Len() int { return s.n }
func (s *countingSource) ID(i int) string {
	return "img" + string(rune('A'+i%26)) + string(rune('a'+i/26))
}
func (s *countingSource) Image(i int) (string, image.Image, error) {
	if n := s.made.Add(1); s.onMake != nil {
		s.onMake(n)
	}
	return s.ID(i), randomImage(uint64(i), 40, 36), nil
}

// explicitStats computes METHOD.md §2 the slow way: all effects of all
// images in memory, then means, norms, top-k, SVD.
type explicitLayer struct {
	mean      []float64 // [N, d]
	top       [][]int   // [N][k]
	norms     [][]float64
	threshold []float64
	sigFrac   []float64
	dir       [][]float64
	explained []float64
}

func explicitStats(t *testing.T, m *clip.Model, src Source, layer, k int, opts ...Option) explicitLayer {
	M := src.Len()
	var phis []*mat.Dense
	for i := range M {
		_, img, err := src.Image(i)
		require.NoError(t, err)
		phi, err := SecondOrder(m, img, layer, opts...)
		require.NoError(t, err)
		phis = append(phis, phi)
	}
	N, d := phis[0].Dims()
	var ex explicitLayer
	mean := mat.NewDense(N, d, nil)
	for _, p := range phis {
		mean.Add(mean, p)
	}
	mean.Scale(1/float64(M), mean)
	ex.mean = mean.RawMatrix().Data
	for n := range N {
		type in struct {
			i    int
			norm float64
			row  []float64
		}
		var all []in
		for i, p := range phis {
			row := make([]float64, d)
			for j := range d {
				row[j] = p.At(n, j) - mean.At(n, j)
			}
			nn := 0.0
			for _, v := range row {
				nn += v * v
			}
			all = append(all, in{i, math.Sqrt(nn), row})
		}
		sort.SliceStable(all, func(a, b int) bool { return all[a].norm > all[b].norm })
		kk := min(k, M)
		X := mat.NewDense(kk, d, nil)
		var ids []int
		var ns []float64
		for r := range kk {
			ids, ns = append(ids, all[r].i), append(ns, all[r].norm)
			X.SetRow(r, all[r].row)
		}
		thr := all[kk-1].norm
		sig := 0
		for _, a := range all {
			if a.norm > thr {
				sig++
			}
		}
		var svd mat.SVD
		require.True(t, svd.Factorize(X, mat.SVDThin))
		var V mat.Dense
		svd.VTo(&V)
		v := mat.Col(nil, 0, &V)
		orient(X.RawMatrix(), v)
		s := svd.Values(nil)
		tot := 0.0
		for _, x := range s {
			tot += x * x
		}
		ex.top, ex.norms = append(ex.top, ids), append(ex.norms, ns)
		ex.threshold = append(ex.threshold, thr)
		ex.sigFrac = append(ex.sigFrac, float64(sig)/float64(M))
		ex.dir = append(ex.dir, v)
		ex.explained = append(ex.explained, s[0]*s[0]/tot)
	}
	return ex
}

func checkAgainstExplicit(t *testing.T, st *Stats, ex explicitLayer) {
	t.Helper()
	numtest.Close(t, ex.mean, st.Mean.RawMatrix().Data, 1e-5, 1e-5*maxAbs(ex.mean), "mean")
	N, d := st.Mean.Dims()
	k := st.K
	swaps := 0
	for n := range N {
		numtest.Close(t, ex.norms[n], st.TopNorms[n*k:(n+1)*k], 1e-5, 1e-6*maxAbs(ex.norms[n]), "norms of neuron", n)
		if !slices.Equal(ex.top[n], st.Top[n*k:(n+1)*k]) {
			swaps++ // only near-ties may swap
			continue
		}
		if maxAbs(ex.norms[n]) == 0 { // the last block: no effects, no direction
			assert.Zero(t, maxAbs(st.Direction.RawRowView(n)))
			assert.Zero(t, st.Explained[n])
			continue
		}
		assert.InDelta(t, ex.threshold[n], st.Threshold[n], 1e-5*ex.threshold[n])
		assert.Equal(t, ex.sigFrac[n], st.Significant[n])
		numtest.Close(t, ex.dir[n], st.Direction.RawRowView(n), 0, 1e-4, "direction of neuron", n)
		assert.InDelta(t, ex.explained[n], st.Explained[n], 1e-5)
	}
	assert.LessOrEqual(t, swaps, N/50, "top-k sets differ for too many neurons")
	_ = d
}

func TestAnalyzeMatchesExplicit(t *testing.T) {
	m := randomModel(t, tinyConfig(), 40)
	src := &countingSource{n: 23}
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"paper scale", nil},
		{"raw, without shared term", []Option{RawScale(), WithoutSharedTerm()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Option{WithLayers(1, 2, 3), WithK(6), WithWorkers(2)}, tc.opts...)
			res, err := Analyze(t.Context(), m, src, opts...)
			require.NoError(t, err)
			require.Len(t, res.Layers, 3)
			assert.Equal(t, src.ID(4), res.IDs[4])
			for _, l := range []int{1, 2, 3} {
				st := res.Layer(l)
				require.NotNil(t, st)
				assert.Equal(t, 23, st.Images)
				checkAgainstExplicit(t, st, explicitStats(t, m, src, l, 6, tc.opts...))
			}
		})
	}
}

func TestAnalyzeKLargerThanImages(t *testing.T) {
	m := randomModel(t, tinyConfig(), 41)
	src := &countingSource{n: 4}
	res, err := Analyze(t.Context(), m, src, WithLayers(1), WithK(100))
	require.NoError(t, err)
	assert.Equal(t, 4, res.Layers[0].K)
	checkAgainstExplicit(t, res.Layers[0], explicitStats(t, m, src, 1, 100))
}

func TestAnalyzeResumes(t *testing.T) {
	m := randomModel(t, tinyConfig(), 42)
	dir := t.TempDir()
	src := &countingSource{n: 20}
	ctx, cancel := context.WithCancel(t.Context())
	stopAt := 7
	src.onMake = func(n int64) {
		if n >= int64(stopAt) {
			cancel()
		}
	}
	_, err := Analyze(ctx, m, src, WithLayers(1, 2), WithK(4), WithCache(dir), WithWorkers(2))
	src.onMake = nil
	require.ErrorIs(t, err, context.Canceled)
	files, _ := filepath.Glob(filepath.Join(dir, "img", "*.npy"))
	before := len(files)
	require.GreaterOrEqual(t, before, stopAt-2)
	require.Less(t, before, 20)
	tmp, _ := filepath.Glob(filepath.Join(dir, "img", "*tmp*"))
	assert.Empty(t, tmp, "no partial files")

	made := src.made.Load()
	var reports []ProgressReport
	res, err := Analyze(t.Context(), m, src, WithLayers(1, 2), WithK(4), WithCache(dir), WithWorkers(2),
		WithProgress(func(p ProgressReport) { reports = append(reports, p) }))
	require.NoError(t, err)
	assert.Equal(t, int64(20-before), src.made.Load()-made, "only unfinished images are recomputed")
	require.NotEmpty(t, reports)
	last := reports[len(reports)-1]
	assert.Equal(t, last.Done, last.Total)

	fresh, err := Analyze(t.Context(), m, src, WithLayers(1, 2), WithK(4), WithWorkers(1))
	require.NoError(t, err)
	for j := range res.Layers {
		assert.True(t, mat.Equal(fresh.Layers[j].Mean, res.Layers[j].Mean), "same sums however the run was split")
		assert.Equal(t, fresh.Layers[j].Top, res.Layers[j].Top)
	}

	_, err = Analyze(t.Context(), m, src, WithLayers(1), WithCache(dir))
	assert.Error(t, err, "a cache for other layers is refused")
	other := randomModel(t, tinyConfig(), 43)
	_, err = Analyze(t.Context(), other, src, WithLayers(1, 2), WithK(4), WithCache(dir))
	assert.Error(t, err, "a cache for another model is refused")
}

func TestAnalyzeErrors(t *testing.T) {
	m := randomModel(t, tinyConfig(), 44)
	src := &countingSource{n: 3}
	cases := []struct {
		name string
		m    *clip.Model
		src  Source
		opts []Option
	}{
		{"nil model", nil, src, []Option{WithLayers(1)}},
		{"default layer 9 past a 4-block tower", m, src, nil},
		{"empty source", m, &countingSource{}, []Option{WithLayers(1)}},
		{"k zero", m, src, []Option{WithLayers(1), WithK(0)}},
		{"missing folder", m, Files("/nonexistent/x.png"), []Option{WithLayers(1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Analyze(t.Context(), tc.m, tc.src, tc.opts...)
			assert.Error(t, err)
		})
	}
	_, err := Folder(t.TempDir())
	assert.Error(t, err)
}

func TestSourcesFolderAndFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	paths := []string{filepath.Join(dir, "b.png"), filepath.Join(dir, "sub", "a.PNG")}
	for i, p := range paths {
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, encodePNG(f, randomImage(uint64(i), 20, 20)))
		require.NoError(t, f.Close())
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644))
	src, err := Folder(dir)
	require.NoError(t, err)
	require.Equal(t, 2, src.Len())
	id, img, err := src.Image(1)
	require.NoError(t, err)
	assert.Equal(t, "sub/a.PNG", id)
	assert.Equal(t, 20, img.Bounds().Dx())
	fs := Files(paths...)
	id, _, err = fs.Image(0)
	require.NoError(t, err)
	assert.Equal(t, paths[0], id)
	g := Generator(3, func(i int) (image.Image, error) {
		if i == 2 {
			return nil, errors.New("boom")
		}
		return randomImage(uint64(i), 8, 8), nil
	})
	_, _, err = g.Image(2)
	assert.Error(t, err)
}

func TestSumsAndTopsMerge(t *testing.T) {
	const N, K, d, k, M = 7, 3, 5, 4, 30
	r := rand.New(rand.NewPCG(1, 2))
	type img struct {
		a, w, c []float32
		norms   []float64
	}
	var imgs []img
	for range M {
		x := img{a: make([]float32, N*K), w: make([]float32, N*K), c: make([]float32, d), norms: make([]float64, N)}
		for i := range x.a {
			x.a[i], x.w[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		for i := range x.c {
			x.c[i] = float32(r.NormFloat64())
		}
		for i := range x.norms {
			x.norms[i] = math.Round(r.Float64()*20) / 20 // ties on purpose
		}
		imgs = append(imgs, x)
	}
	whole, s1, s2 := NewSums(3, N, K, d), NewSums(3, N, K, d), NewSums(3, N, K, d)
	tw, t1, t2 := NewTops(3, N, K, d, k), NewTops(3, N, K, d, k), NewTops(3, N, K, d, k)
	for i, x := range imgs {
		whole.add(x.a, x.w, x.c)
		tw.addImage(i, x.norms, x.a, x.c)
		if i%3 == 0 {
			s1.add(x.a, x.w, x.c)
			t1.addImage(i, x.norms, x.a, x.c)
		} else {
			s2.add(x.a, x.w, x.c)
			t2.addImage(i, x.norms, x.a, x.c)
		}
	}
	require.NoError(t, s1.Merge(s2))
	require.NoError(t, t2.Merge(t1))
	assert.Equal(t, whole.Count, s1.Count)
	numtest.Close(t, whole.A, s1.A, 1e-12, 1e-12)
	numtest.Close(t, whole.C, s1.C, 1e-12, 1e-12)
	tw.prune()
	for n := range N {
		a, b := tw.sorted(n), t2.sorted(n)
		require.Len(t, b, k)
		for i := range a {
			assert.Equal(t, a[i].index, b[i].index)
			assert.Equal(t, a[i].norm, b[i].norm)
		}
	}
	assert.Equal(t, len(tw.cs), len(t2.cs))
	assert.Error(t, s1.Merge(NewSums(4, N, K, d)))
	assert.Error(t, t1.Merge(NewTops(3, N, K, d, k+1)))
}

func TestCentredNormInAlphaSpace(t *testing.T) {
	// ‖U_nᵀ β + c‖² from the Gram matrix equals the explicit norm.
	m := randomModel(t, tinyConfig(), 45)
	u, err := secondOf(m, 1)
	require.NoError(t, err)
	G, err := gramOf(m, 1)
	require.NoError(t, err)
	K, d := u.K, u.d
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 10 {
		a, abar := make([]float32, K), make([]float64, K)
		C, cbar := make([]float32, d), make([]float64, d)
		for i := range K {
			a[i], abar[i] = float32(r.NormFloat64()), r.NormFloat64()
		}
		for i := range d {
			C[i], cbar[i] = float32(r.NormFloat64()), r.NormFloat64()*0.1
		}
		// W_n = U_n C and w̄_n = U_n C̄.
		w, wbar := make([]float32, K), make([]float64, K)
		want := make([]float64, d)
		cc := 0.0
		for k := range K {
			for j := range d {
				uk := float64(u.U[(n*K+k)*d+j])
				w[k] += float32(uk * float64(C[j]))
				wbar[k] += uk * cbar[j]
				want[j] += uk * (float64(a[k]) - abar[k])
			}
		}
		nn := 0.0
		for j := range d {
			c := float64(C[j]) - cbar[j]
			cc += c * c
			want[j] += c
			nn += want[j] * want[j]
		}
		got := centredNorm2(G[n*K*K:(n+1)*K*K], a, abar, w, wbar, cc, make([]float64, K))
		assert.InDelta(t, nn, got, 1e-5*nn)
	}
}
