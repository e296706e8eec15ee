package sparse

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/internal/npy"
)

const goldenDir = "../testdata/sparse"

type goldenCase struct {
	Name      string   `json:"name"`
	K         *int     `json:"k"`
	Tol       *float64 `json:"tol"`
	NIter     []int    `json:"n_iter"`
	Premature []bool   `json:"premature"`
}

type golden struct {
	goldenCase
	dict    *mat.Dense // [M, d]
	targets *mat.Dense // [T, d]
	coefs   *mat.Dense // [T, M]
	order   *mat.Dense // [T, kmax], -1 padded
}

func loadGoldens(t *testing.T) []golden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, "manifest.json"))
	require.NoError(t, err, "goldens missing: run /usr/bin/python3 testdata/sparse/make_goldens.py")
	var man struct {
		Cases []goldenCase `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &man))
	read := func(name, part string) *mat.Dense {
		a, err := npy.ReadFile(filepath.Join(goldenDir, name+"_"+part+".npy"))
		require.NoError(t, err)
		require.Len(t, a.Shape, 2)
		return mat.NewDense(a.Shape[0], a.Shape[1], a.Float64())
	}
	var gs []golden
	for _, c := range man.Cases {
		gs = append(gs, golden{goldenCase: c, dict: read(c.Name, "dict"), targets: read(c.Name, "targets"),
			coefs: read(c.Name, "coefs"), order: read(c.Name, "order")})
	}
	require.NotEmpty(t, gs)
	return gs
}

// kFor returns the k and options that reproduce the sklearn call of g.
func (g golden) call() (int, []Option) {
	m, _ := g.dict.Dims()
	if g.Tol != nil {
		return m, []Option{WithTolerance(*g.Tol)}
	}
	return *g.K, nil
}

// TestOMPGoldens compares atom order (exact) and coefficients (1e-5) with
// scikit-learn's orthogonal_mp_gram, for float64 and float32 dictionaries.
func TestOMPGoldens(t *testing.T) {
	worst, worst32 := 0.0, 0.0
	for _, g := range loadGoldens(t) {
		for _, prec := range []string{"float64", "float32"} {
			t.Run(g.Name+"/"+prec, func(t *testing.T) {
				dict, err := NewDictionary(g.dict)
				require.NoError(t, err)
				if prec == "float32" {
					if g.Name == "cholesky" {
						t.Skip("the 1e-9 offset of the dependent atom is below float32 resolution")
					}
					dict, err = dict.Float32()
					require.NoError(t, err)
				}
				k, opts := g.call()
				nt, _ := g.targets.Dims()
				for i := range nt {
					res, err := OMP(dict, g.targets.RawRowView(i), k, opts...)
					require.NoError(t, err)
					wantOrder := []int{}
					for _, v := range g.order.RawRowView(i) {
						if v >= 0 {
							wantOrder = append(wantOrder, int(v))
						}
					}
					if prec == "float32" && g.Premature[i] {
						// Rounding the atoms to float32 moves the target off
						// their span: the pursuit goes on with tiny
						// coefficients after sklearn's atoms.
						require.GreaterOrEqual(t, len(res.Atoms), len(wantOrder))
						res.Atoms, res.Coefs = res.Atoms[:len(wantOrder)], res.Coefs[:len(wantOrder)]
						require.Equal(t, wantOrder, res.Atoms, "target %d atom order", i)
						continue
					}
					require.Equal(t, wantOrder, res.Atoms, "target %d atom order", i)
					assert.Equal(t, g.NIter[i], len(res.Atoms), "target %d n_iter", i)
					assert.Equal(t, g.Premature[i], res.Stopped.Premature(), "target %d stop %v", i, res.Stopped)
					if g.Tol != nil && !g.Premature[i] {
						assert.Equal(t, StopTolerance, res.Stopped)
					}
					wantCoef := g.coefs.RawRowView(i)
					for j, a := range res.Atoms {
						diff := math.Abs(res.Coefs[j] - wantCoef[a])
						if prec == "float64" {
							worst = max(worst, diff)
						} else {
							worst32 = max(worst32, diff)
						}
						assert.InDelta(t, wantCoef[a], res.Coefs[j], 1e-5, "target %d atom %d", i, a)
					}
					// Residual norm against the golden coefficients.
					y := mat.NewVecDense(len(g.targets.RawRowView(i)), append([]float64(nil), g.targets.RawRowView(i)...))
					var fit mat.VecDense
					fit.MulVec(g.dict.T(), mat.NewVecDense(len(wantCoef), wantCoef))
					y.SubVec(y, &fit)
					assert.InDelta(t, mat.Norm(y, 2), res.ResidualNorm, 1e-6)
				}
			})
		}
	}
	t.Logf("worst |coef − sklearn|: %.3g with float64 dictionaries, %.3g with float32", worst, worst32)
}

func TestOMPEarlyStops(t *testing.T) {
	gs := loadGoldens(t)
	byName := map[string]golden{}
	for _, g := range gs {
		byName[g.Name] = g
	}
	t.Run("cholesky", func(t *testing.T) {
		g := byName["cholesky"]
		dict, err := NewDictionary(g.dict)
		require.NoError(t, err)
		res, err := OMP(dict, g.targets.RawRowView(0), 3)
		require.NoError(t, err)
		assert.Equal(t, StopDependent, res.Stopped)
		assert.Equal(t, []int{0, 1}, res.Atoms)
	})
	t.Run("span", func(t *testing.T) {
		g := byName["neardup"]
		dict, err := NewDictionary(g.dict)
		require.NoError(t, err)
		res, err := OMP(dict, g.targets.RawRowView(3), 15)
		require.NoError(t, err)
		assert.Contains(t, []Stop{StopSmallCorrelation, StopRepeatedAtom}, res.Stopped)
		assert.ElementsMatch(t, []int{3, 17, 30}, res.Atoms)
		assert.InDelta(t, 0, res.ResidualNorm, 1e-12)
	})
	t.Run("zero target", func(t *testing.T) {
		dict, err := NewDictionary(byName["random"].dict)
		require.NoError(t, err)
		_, d := dict.Dims()
		res, err := OMP(dict, make([]float64, d), 5)
		require.NoError(t, err)
		assert.Empty(t, res.Atoms)
		assert.Equal(t, StopSmallCorrelation, res.Stopped)
	})
}

func randomProblem(rng *rand.Rand, m, d, nt int) (*mat.Dense, *mat.Dense) {
	e := mat.NewDense(m, d, nil)
	y := mat.NewDense(nt, d, nil)
	for i := range m {
		s := 0.5 + rng.Float64()
		for j := range d {
			e.Set(i, j, s*rng.NormFloat64())
		}
	}
	for i := range nt {
		for j := range d {
			y.Set(i, j, rng.NormFloat64())
		}
	}
	return e, y
}

// TestOMPBatchMatchesSingle checks that OMPBatch gives, bit for bit, the
// results of one-by-one OMP calls, whatever the number of workers.
func TestOMPBatchMatchesSingle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	e, y := randomProblem(rng, 301, 37, 70)
	for _, prec := range []string{"float64", "float32"} {
		dict, err := NewDictionary(e)
		require.NoError(t, err)
		if prec == "float32" {
			dict, err = dict.Float32()
			require.NoError(t, err)
		}
		for _, opts := range [][]Option{nil, {NonNegative()}, {WithTolerance(3)}} {
			var want []Result
			for i := range 70 {
				r, err := OMP(dict, y.RawRowView(i), 20, opts...)
				require.NoError(t, err)
				want = append(want, r)
			}
			for _, w := range []int{1, 3, 8} {
				got, err := OMPBatch(t.Context(), dict, y, 20, append(opts, WithWorkers(w))...)
				require.NoError(t, err)
				require.Equal(t, want, got, "%s workers=%d", prec, w)
			}
		}
	}
}

func TestOMPNonNegative(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const m, d = 200, 64
	e, _ := randomProblem(rng, m, d, 1)
	dict, err := NewDictionary(e)
	require.NoError(t, err)
	t.Run("coefficients are non-negative", func(t *testing.T) {
		_, y := randomProblem(rng, 1, d, 20)
		res, err := OMPBatch(t.Context(), dict, y, 30, NonNegative())
		require.NoError(t, err)
		for _, r := range res {
			require.NotEmpty(t, r.Atoms)
			for _, c := range r.Coefs {
				assert.GreaterOrEqual(t, c, 0.0)
			}
		}
		// Non-negative least squares on its support (KKT): the correlation
		// e_a·r is ≈ 0 where γ_a > 0 and ≤ 0 where γ_a = 0.
		for i, r := range res {
			y := y.RawRowView(i)
			resid := append([]float64(nil), y...)
			for j, a := range r.Atoms {
				for q := range d {
					resid[q] -= r.Coefs[j] * e.At(a, q)
				}
			}
			for j, a := range r.Atoms {
				c := dot64(e.RawRowView(a), resid)
				if r.Coefs[j] > 0 {
					assert.InDelta(t, 0, c, 1e-9, "target %d atom %d", i, a)
				} else {
					assert.LessOrEqual(t, c, 1e-9, "target %d atom %d", i, a)
				}
			}
		}
	})
	t.Run("recovers a non-negative sparse code", func(t *testing.T) {
		support := []int{7, 42, 99, 150, 188}
		coefs := []float64{1.5, 0.7, 2.0, 0.3, 1.1}
		y := make([]float64, d)
		for i, a := range support {
			for j := range d {
				y[j] += coefs[i] * e.At(a, j)
			}
		}
		res, err := OMP(dict, y, 10, NonNegative())
		require.NoError(t, err)
		got := map[int]float64{}
		for i, a := range res.Atoms {
			if res.Coefs[i] != 0 {
				got[a] = res.Coefs[i]
			}
		}
		require.Len(t, got, len(support), "atoms %v coefs %v", res.Atoms, res.Coefs)
		for i, a := range support {
			assert.InDelta(t, coefs[i], got[a], 1e-9)
		}
		assert.InDelta(t, 0, res.ResidualNorm, 1e-9)
	})
}

func TestOMPErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	e, y := randomProblem(rng, 10, 4, 2)
	dict, err := NewDictionary(e)
	require.NoError(t, err)
	good := y.RawRowView(0)
	nan := []float64{1, math.NaN(), 0, 0}
	cases := []struct {
		name string
		y    []float64
		k    int
		opts []Option
	}{
		{"k zero", good, 0, nil},
		{"k negative", good, -1, nil},
		{"k above M", good, 11, nil},
		{"short target", good[:3], 2, nil},
		{"NaN target", nan, 2, nil},
		{"negative tolerance", good, 2, []Option{WithTolerance(-1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := OMP(dict, c.y, c.k, c.opts...)
			require.ErrorIs(t, err, ErrInput)
		})
	}
	t.Run("batch NaN row", func(t *testing.T) {
		yy := mat.DenseCopyOf(y)
		yy.Set(1, 2, math.Inf(1))
		_, err := OMPBatch(t.Context(), dict, yy, 2)
		require.ErrorIs(t, err, ErrInput)
		require.ErrorContains(t, err, "row 1")
	})
	t.Run("batch dims", func(t *testing.T) {
		_, err := OMPBatch(t.Context(), dict, mat.NewDense(2, 5, nil), 2)
		require.ErrorIs(t, err, ErrInput)
	})
	t.Run("NaN dictionary", func(t *testing.T) {
		_, err := NewDictionary32(2, 2, []float32{1, 2, float32(math.NaN()), 0})
		require.ErrorIs(t, err, ErrInput)
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := OMPBatch(ctx, dict, y, 2)
		require.ErrorIs(t, err, context.Canceled)
	})
}
