package lens

import (
	"context"
	"errors"
	"image"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/clip/cuda"
	"github.com/neuronlens/neuronlens/internal/numtest"
)

func withAccel(a accel) Option { return func(c *config) { c.accel = a } }

// cpuAccel stands in for the GPU: the quantities cuda.Encoder.SecondOrder
// returns, computed from the CPU forward pass in float64. It lets the
// device paths of the lens (batches, pipeline, records, shared term) be
// tested anywhere.
type cpuAccel struct {
	m     *clip.Model
	B     int
	calls atomic.Int64
	fail  error // returned by every call when set
}

func (a *cpuAccel) batch() int { return a.B }
func (a *cpuAccel) close()     {}

// secondOrder fills dst as cuda.Encoder.SecondOrderProj does: its arrays
// are reused where large enough, after being filled with NaNs, so that a
// value it fails to write shows.
func (a *cpuAccel) secondOrder(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, u *secondU) (*cuda.SecondOrder, error) {
	a.calls.Add(1)
	if a.fail != nil {
		return nil, a.fail
	}
	v := a.m.Config.Vision
	T, H, N, L, d := v.Tokens(), v.Heads, v.MLPWidth, v.Layers, a.m.Config.EmbedDim
	K := (L - 1 - layer) * H
	B := len(pixels)
	so := dst
	if so == nil {
		so = new(cuda.SecondOrder)
	}
	old := *so
	*so = cuda.SecondOrder{Layer: layer, B: B, N: N, K: K, D: d,
		Alpha: nanFilled(old.Alpha, B*N*K), One: nanFilled(old.One, B*K), Mu: nanFilled(old.Mu, B*K),
		Emb: nanFilled(old.Emb, B*d), Norm: nanFilled(old.Norm, B), MuPost: nanFilled(old.MuPost, B), SigmaPost: nanFilled(old.SigmaPost, B)}
	if u != nil {
		so.Effects = nanFilled(old.Effects, B*N*d)
	}
	for b, p := range pixels {
		c := newCapture(a.m, []int{layer})
		if err := c.run(ctx, a.m, p); err != nil {
			return nil, err
		}
		copy(so.Emb[b*d:], c.f)
		so.Norm[b], so.MuPost[b], so.SigmaPost[b] = float32(c.norm()), c.muPost, c.sigPost
		alpha := make([]float64, N*K)
		for k := range K {
			lp, h := layer+1+k/H, k%H
			var s1, s2 float64
			for t := range T {
				w := float64(c.cls[lp][h*T+t]) / float64(c.sig1[lp][t])
				s1 += w
				s2 += w * float64(c.mu1[lp][t])
				for n := range N {
					alpha[n*K+k] += w * float64(c.post[layer][t*N+n])
				}
			}
			so.One[b*K+k], so.Mu[b*K+k] = float32(s1), float32(s2)
		}
		for i, x := range alpha {
			so.Alpha[b*N*K+i] = float32(x)
		}
		if u != nil {
			s := 100 / (c.norm() * float64(c.sigPost))
			for n := range N {
				for j := range d {
					var e float64
					for k := range K {
						e += alpha[n*K+k] * float64(u.U[(n*K+k)*d+j])
					}
					so.Effects[(b*N+n)*d+j] = float32(s * e)
				}
			}
		}
	}
	return so, nil
}

// nanFilled returns b with length n, reusing its array when large enough,
// every value NaN.
func nanFilled(b []float32, n int) []float32 {
	if cap(b) < n {
		b = make([]float32, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = float32(math.NaN())
	}
	return b
}

// cpuProjAccel is cpuAccel that also computes the records' projection, as
// the GPU does (projAccel), from its definition.
type cpuProjAccel struct{ cpuAccel }

func (a *cpuProjAccel) secondOrderProj(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, bs *deviceBasis) (*cuda.SecondOrder, error) {
	old := dst
	so, err := a.secondOrder(ctx, dst, pixels, layer, nil)
	if err != nil {
		return nil, err
	}
	var reuse []float32
	if old != nil {
		reuse = old.Proj
	}
	B, NK, K := so.B, so.N*so.K, so.K
	so.Proj = nanFilled(reuse, B*NK)
	// Proj[b, i] = Σ_k P[i,k]·One[b,k] + Σ_k P[i,K+k]·Mu[b,k] + P[i,2K]
	for b := range B {
		for i := range NK {
			p := bs.P[i*(2*K+1) : (i+1)*(2*K+1)]
			s := float64(p[2*K])
			for k := range K {
				s += float64(p[k])*float64(so.One[b*K+k]) + float64(p[K+k])*float64(so.Mu[b*K+k])
			}
			so.Proj[b*NK+i] = float32(s)
		}
	}
	return so, nil
}

// lockedAccel is cpuProjAccel with stand-in page-locked memory (hostAccel):
// ordinary arrays that it remembers until they are freed, so that a test
// can check that the pixels and destinations it is given are its own and
// that everything it handed out comes back. With flaky, every other
// allocation fails, the first included, as page-locked memory may run out.
type lockedAccel struct {
	cpuProjAccel
	flaky bool

	mu                      sync.Mutex
	live                    map[*float32]int // start → length of what pageLocked returned
	allocs, refused         int
	badFrees                int
	directIn, directOut     int // pixels and results in its memory
	ordinaryIn, ordinaryOut int
}

func (a *lockedAccel) pageLocked(n int) []float32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allocs++
	if a.flaky && a.allocs%2 == 1 {
		a.refused++
		return nil
	}
	b := make([]float32, n)
	if a.live == nil {
		a.live = map[*float32]int{}
	}
	a.live[&b[0]] = n
	return b
}

// owns reports whether x lies inside memory from pageLocked not yet freed.
func (a *lockedAccel) owns(x []float32) bool {
	if len(x) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(&x[0]))
	for start, n := range a.live {
		s := uintptr(unsafe.Pointer(start))
		if p >= s && p+4*uintptr(len(x)) <= s+4*uintptr(n) {
			return true
		}
	}
	return false
}

func (a *lockedAccel) freePageLocked(x []float32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(x) == 0 || a.live[&x[0]] == 0 {
		a.badFrees++
		return
	}
	delete(a.live, &x[0])
}

func (a *lockedAccel) secondOrderProj(ctx context.Context, dst *cuda.SecondOrder, pixels [][]float32, layer int, bs *deviceBasis) (*cuda.SecondOrder, error) {
	a.mu.Lock()
	for _, p := range pixels {
		if a.owns(p) {
			a.directIn++
		} else {
			a.ordinaryIn++
		}
	}
	if dst != nil && (a.owns(dst.Alpha) || a.owns(dst.Proj)) {
		a.directOut++
	} else {
		a.ordinaryOut++
	}
	a.mu.Unlock()
	return a.cpuProjAccel.secondOrderProj(ctx, dst, pixels, layer, bs)
}

// compareResults checks device results against CPU ones: means, top-k
// norms, thresholds and directions to rtol relative (to each quantity's
// largest entry), the top-k sets equal but for a few near-ties.
func compareResults(t *testing.T, want, got *Results, rtol float64) {
	t.Helper()
	require.Equal(t, want.IDs, got.IDs)
	require.Equal(t, want.K, got.K)
	require.Len(t, got.Layers, len(want.Layers))
	for j, w := range want.Layers {
		g := got.Layers[j]
		require.Equal(t, w.Layer, g.Layer)
		require.Equal(t, w.Images, g.Images)
		mw := w.Mean.RawMatrix().Data
		numtest.Close(t, mw, g.Mean.RawMatrix().Data, 0, rtol*maxAbs(mw)+1e-30, "mean, layer", w.Layer)
		numtest.Close(t, w.TopNorms, g.TopNorms, 0, rtol*maxAbs(w.TopNorms)+1e-30, "top-k norms, layer", w.Layer)
		numtest.Close(t, w.Threshold, g.Threshold, 0, rtol*maxAbs(w.Threshold)+1e-30, "thresholds, layer", w.Layer)
		N, _ := w.Mean.Dims()
		k := w.K
		swaps, dirs := 0, 0
		for n := range N {
			if !slices.Equal(w.Top[n*k:(n+1)*k], g.Top[n*k:(n+1)*k]) {
				swaps++ // only near-ties may swap
				continue
			}
			if w.Significant[n] != g.Significant[n] {
				swaps++ // an image on the threshold
				continue
			}
			wd, gd := w.Direction.RawRowView(n), g.Direction.RawRowView(n)
			if maxAbs(wd) == 0 {
				assert.Zero(t, maxAbs(gd))
				continue
			}
			// A direction is defined up to its sign rule; a near-degenerate
			// first singular value makes it ill-conditioned: skip those.
			if w.Explained[n] > 0 && math.Abs(w.Explained[n]-g.Explained[n]) > 1e-3 {
				dirs++
				continue
			}
			if numtest.MaxAbsDiff(wd, gd) > rtol*10 {
				dirs++
			}
		}
		assert.LessOrEqual(t, swaps, max(1, N/50), "layer %d: top-k sets differ for too many neurons", w.Layer)
		assert.LessOrEqual(t, dirs, max(1, N/100), "layer %d: directions differ for too many neurons", w.Layer)
		t.Logf("layer %d: %d neurons, %d top-k sets differ (near-ties), %d directions beyond %.0e", w.Layer, N, swaps, dirs, rtol*10)
	}
}

func TestDeviceNames(t *testing.T) {
	for _, tc := range []struct {
		name, arg, env, want string
		wantErr              bool
	}{
		{name: "default is cpu", want: cuda.CPU},
		{name: "env cpu", env: "cpu", want: cuda.CPU},
		{name: "env CUDA", env: " CUDA ", want: cuda.CUDA},
		{name: "env gpu", env: "gpu", want: cuda.CUDA},
		{name: "option wins over env", arg: "cpu", env: "cuda", want: cuda.CPU},
		{name: "option cuda", arg: "cuda", env: "cpu", want: cuda.CUDA},
		{name: "unknown option", arg: "tpu", wantErr: true},
		{name: "unknown env", env: "metal", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(cuda.DeviceEnv, tc.env)
			var opts []Option
			if tc.arg != "" {
				opts = append(opts, WithDevice(tc.arg))
			}
			got, err := deviceOf(newConfig(opts))
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "want \"cpu\" or \"cuda\"")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestDeviceCUDAUnavailable: asking for cuda where it cannot run (a binary
// without the cuda tag, or no GPU) is a clear error from Analyze and the
// batch forms, returned before any work; never a silent CPU run.
func TestDeviceCUDAUnavailable(t *testing.T) {
	if cuda.Available() == nil {
		t.Skip("a GPU is usable here")
	}
	notBuilt := errors.Is(cuda.Available(), cuda.ErrNotBuilt)
	m := randomModel(t, tinyConfig(), 60)
	src := &countingSource{n: 3}
	px := [][]float32{randomPixels(m, 1)}
	check := func(t *testing.T, err error, from string) {
		t.Helper()
		require.Error(t, err)
		assert.ErrorIs(t, err, cuda.ErrUnavailable)
		if notBuilt {
			assert.ErrorIs(t, err, cuda.ErrNotBuilt)
			assert.Contains(t, err.Error(), "-tags cuda")
		}
		assert.Contains(t, err.Error(), from)
		t.Log(err)
	}
	t.Run("option", func(t *testing.T) {
		t.Setenv(cuda.DeviceEnv, "")
		_, err := Analyze(t.Context(), m, src, WithLayers(1), WithDevice("cuda"))
		check(t, err, "WithDevice")
		_, err = SecondOrderPixelsBatch(t.Context(), m, px, 1, WithDevice("gpu"))
		check(t, err, "WithDevice")
		_, err = SecondOrderBatch(t.Context(), m, []image.Image{randomImage(1, 8, 8)}, 1, WithDevice("CUDA"))
		check(t, err, "WithDevice")
	})
	t.Run("env", func(t *testing.T) {
		t.Setenv(cuda.DeviceEnv, "cuda")
		_, err := Analyze(t.Context(), m, src, WithLayers(1))
		check(t, err, cuda.DeviceEnv)
		_, err = SecondOrderPixelsBatch(t.Context(), m, px, 1)
		check(t, err, cuda.DeviceEnv)
		assert.Zero(t, src.made.Load(), "no image was read")
		// The option overrides the variable.
		_, err = SecondOrderPixelsBatch(t.Context(), m, px, 1, WithDevice("cpu"))
		require.NoError(t, err)
	})
	t.Run("unknown", func(t *testing.T) {
		t.Setenv(cuda.DeviceEnv, "tpu")
		_, err := Analyze(t.Context(), m, src, WithLayers(1))
		require.Error(t, err)
		assert.NotErrorIs(t, err, cuda.ErrUnavailable)
		assert.Contains(t, err.Error(), `NEURONLENS_DEVICE="tpu"`)
	})
}

// TestDeviceCPUIsDefault: "cpu", by option or variable, is exactly the
// default path.
func TestDeviceCPUIsDefault(t *testing.T) {
	m := randomModel(t, tinyConfig(), 61)
	src := &countingSource{n: 9}
	t.Setenv(cuda.DeviceEnv, "")
	base, err := Analyze(t.Context(), m, src, WithLayers(1, 2), WithK(3), WithWorkers(1))
	require.NoError(t, err)
	opt, err := Analyze(t.Context(), m, src, WithLayers(1, 2), WithK(3), WithWorkers(1), WithDevice("cpu"))
	require.NoError(t, err)
	t.Setenv(cuda.DeviceEnv, "cpu")
	env, err := Analyze(t.Context(), m, src, WithLayers(1, 2), WithK(3), WithWorkers(1))
	require.NoError(t, err)
	for j := range base.Layers {
		for _, r := range []*Results{opt, env} {
			assert.True(t, mat.Equal(base.Layers[j].Mean, r.Layers[j].Mean))
			assert.True(t, mat.Equal(base.Layers[j].Direction, r.Layers[j].Direction))
			assert.Equal(t, base.Layers[j].TopNorms, r.Layers[j].TopNorms)
		}
	}
}

// TestAnalyzeDevicePath runs Analyze's device pipeline on the CPU stand-in
// against the CPU path: both ways of building W (X for r < d, U otherwise),
// the options, device batches that split the source, and several layers.
func TestAnalyzeDevicePath(t *testing.T) {
	tiny := randomModel(t, tinyConfig(), 62)
	small := randomModel(t, smallConfig(), 63)
	for _, tc := range []struct {
		name   string
		m      *clip.Model
		layers []int
		opts   []Option
	}{
		{"tiny, W from U, last block too", tiny, []int{1, 3}, nil},
		{"small, W from X", small, []int{4}, nil},
		{"small, X and U", small, []int{3, 4}, []Option{WithK(4)}},
		{"small raw", small, []int{4}, []Option{RawScale()}},
		{"small without shared term", small, []int{3, 4}, []Option{WithoutSharedTerm()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingSource{n: 19}
			opts := append([]Option{WithLayers(tc.layers...), WithK(5), WithWorkers(2)}, tc.opts...)
			want, err := Analyze(t.Context(), tc.m, src, opts...)
			require.NoError(t, err)
			a := &cpuAccel{m: tc.m, B: 4}
			got, err := Analyze(t.Context(), tc.m, src, append(opts, withAccel(a))...)
			require.NoError(t, err)
			assert.Equal(t, int64(5*len(tc.layers)), a.calls.Load(), "one call per batch and layer")
			compareResults(t, want, got, 1e-5)
		})
	}
}

// TestAnalyzeDeviceRecords: the device's records equal the CPU's, entry
// by entry, so that a cache may mix them. Five batches of two (and a
// last one) make the device path reuse its recycled buffers, which must
// leave nothing of an earlier image behind.
func TestAnalyzeDeviceRecords(t *testing.T) {
	defer func(n int) { pageLockedBatches = n }(pageLockedBatches)
	pageLockedBatches = 1 // page-locked memory for any number of batches
	m := randomModel(t, smallConfig(), 64)
	src := &countingSource{n: 11}
	cpuDir := t.TempDir()
	_, err := Analyze(t.Context(), m, src, WithLayers(3, 4), WithK(2), WithCache(cpuDir))
	require.NoError(t, err)
	u3, _ := secondOf(m, 3)
	u4, _ := secondOf(m, 4)
	c, err := openCache(cpuDir, m, []int{3, 4}, []int{u3.K, u4.K}, newConfig(nil))
	require.NoError(t, err)
	for name, acc := range map[string]accel{
		"shared term on the host":   &cpuAccel{m: m, B: 2},
		"shared term on the device": &cpuProjAccel{cpuAccel{m: m, B: 2}},
		"page-locked memory":        &lockedAccel{cpuProjAccel: cpuProjAccel{cpuAccel{m: m, B: 2}}},
		"some page-locked memory":   &lockedAccel{cpuProjAccel: cpuProjAccel{cpuAccel{m: m, B: 2}}, flaky: true},
	} {
		t.Run(name, func(t *testing.T) {
			devDir := t.TempDir()
			_, err = Analyze(t.Context(), m, src, WithLayers(3, 4), WithK(2), WithCache(devDir), withAccel(acc))
			require.NoError(t, err)
			c2, err := openCache(devDir, m, []int{3, 4}, []int{u3.K, u4.K}, newConfig(nil))
			require.NoError(t, err)
			for i := range src.n {
				a, ok := c.load(i, src.ID(i), nil)
				require.True(t, ok)
				b, ok := c2.load(i, src.ID(i), nil)
				require.True(t, ok)
				fa, la := c.split(a)
				fb, lb := c2.split(b)
				numtest.Close(t, fa, fb, 0, 1e-6*numtest.Norm(fa), "f")
				for j := range la {
					numtest.Close(t, la[j].A, lb[j].A, 0, 1e-5*numtest.Norm(la[j].A), "A", j)
					numtest.Close(t, la[j].W, lb[j].W, 0, 1e-5*numtest.Norm(la[j].W), "W", j)
					numtest.Close(t, la[j].C, lb[j].C, 0, 1e-5*numtest.Norm(la[j].C), "C", j)
				}
			}
			if la, ok := acc.(*lockedAccel); ok {
				assert.Empty(t, la.live, "page-locked memory not freed")
				assert.Zero(t, la.badFrees, "frees of memory it did not hand out")
				assert.Positive(t, la.directIn, "pixels in page-locked memory")
				assert.Positive(t, la.directOut, "results into page-locked memory")
				if la.flaky {
					assert.Positive(t, la.refused)
					assert.Positive(t, la.ordinaryIn, "pixels in ordinary memory where it refused")
				} else {
					assert.Zero(t, la.ordinaryIn)
				}
			}
		})
	}
}

func TestAnalyzeDeviceResumesAndFails(t *testing.T) {
	m := randomModel(t, tinyConfig(), 65)
	dir := t.TempDir()
	src := &countingSource{n: 20}
	ctx, cancel := context.WithCancel(t.Context())
	src.onMake = func(n int64) {
		if n >= 17 {
			cancel()
		}
	}
	_, err := Analyze(ctx, m, src, WithLayers(1), WithK(4), WithCache(dir), withAccel(&cpuAccel{m: m, B: 4}))
	src.onMake = nil
	require.ErrorIs(t, err, context.Canceled)
	made := src.made.Load()
	a := &cpuAccel{m: m, B: 4}
	res, err := Analyze(t.Context(), m, src, WithLayers(1), WithK(4), WithCache(dir), withAccel(a))
	require.NoError(t, err)
	// Cancelled while reading batch 4: batch 0 at least had reached the host.
	assert.LessOrEqual(t, src.made.Load()-made, int64(16), "finished images are reused")
	want, err := Analyze(t.Context(), m, src, WithLayers(1), WithK(4))
	require.NoError(t, err)
	compareResults(t, want, res, 1e-5)

	boom := errors.New("device lost")
	start := time.Now()
	_, err = Analyze(t.Context(), m, &countingSource{n: 30}, WithLayers(1), withAccel(&cpuAccel{m: m, B: 4, fail: boom}))
	assert.ErrorIs(t, err, boom)
	assert.Less(t, time.Since(start), 10*time.Second)
	_, err = Analyze(t.Context(), m, Files("/nonexistent/x.png"), WithLayers(1), withAccel(&cpuAccel{m: m, B: 4}))
	assert.Error(t, err)
}

func TestSecondOrderBatchDevicePath(t *testing.T) {
	tiny := randomModel(t, tinyConfig(), 66)
	small := randomModel(t, smallConfig(), 67)
	for _, tc := range []struct {
		name  string
		m     *clip.Model
		layer int
		opts  []Option
	}{
		{"tiny", tiny, 1, nil},
		{"tiny last block", tiny, 3, nil},
		{"small X", small, 4, nil},
		{"small raw", small, 3, []Option{RawScale()}},
		{"small without shared term", small, 4, []Option{WithoutSharedTerm()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var px [][]float32
			for i := range 7 {
				px = append(px, randomPixels(tc.m, uint64(200+i)))
			}
			want, err := SecondOrderPixelsBatch(t.Context(), tc.m, px, tc.layer, tc.opts...)
			require.NoError(t, err)
			got, err := SecondOrderPixelsBatch(t.Context(), tc.m, px, tc.layer, append(tc.opts, withAccel(&cpuAccel{m: tc.m, B: 3}))...)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for i := range want {
				w := want[i].RawMatrix().Data
				numtest.Close(t, w, got[i].RawMatrix().Data, 0, 1e-5*maxAbs(w)+1e-30, "image", i)
			}
		})
	}
	_, err := SecondOrderPixelsBatch(t.Context(), tiny, [][]float32{randomPixels(tiny, 1), {1, 2}}, 1, withAccel(&cpuAccel{m: tiny, B: 3}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lens: image 1:")
	imgs := []image.Image{randomImage(1, 40, 36), randomImage(2, 50, 30)}
	want, err := SecondOrderBatch(t.Context(), tiny, imgs, 2)
	require.NoError(t, err)
	got, err := SecondOrderBatch(t.Context(), tiny, imgs, 2, withAccel(&cpuAccel{m: tiny, B: 1}))
	require.NoError(t, err)
	for i := range want {
		w := want[i].RawMatrix().Data
		numtest.Close(t, w, got[i].RawMatrix().Data, 0, 1e-5*maxAbs(w), "image", i)
	}
}
