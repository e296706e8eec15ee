package lens

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// svdDirection is rank1.direction computed with a thin SVD, as the
// reference does, and the same sign rule.
func svdDirection(t *testing.T, X *mat.Dense) ([]float64, float64) {
	var svd mat.SVD
	require.True(t, svd.Factorize(X, mat.SVDThinV))
	vals := svd.Values(nil)
	var tot float64
	for _, s := range vals {
		tot += s * s
	}
	var V mat.Dense
	svd.VTo(&V)
	v := mat.Col(nil, 0, &V)
	orient(X.RawMatrix(), v)
	return v, vals[0] * vals[0] / tot
}

func TestRank1MatchesSVD(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	random := func(k, d int, spike float64) *mat.Dense {
		X := mat.NewDense(k, d, nil)
		dir := make([]float64, d)
		for j := range dir {
			dir[j] = r.NormFloat64()
		}
		for i := range k {
			s := spike * (1 + r.Float64())
			for j := range d {
				X.Set(i, j, r.NormFloat64()+s*dir[j])
			}
		}
		return X
	}
	rankOne := mat.NewDense(5, 7, nil)
	for i := range 5 {
		for j := range 7 {
			rankOne.Set(i, j, float64(i-1)*float64(j+1))
		}
	}
	// closePair has σ_1 = (1 + 1e-6)·σ_2, the rest below σ_2/2.
	closePair := func(k, d int) *mat.Dense {
		var svd mat.SVD
		require.True(t, svd.Factorize(random(k, d, 0), mat.SVDThin))
		var U, V, US, X mat.Dense
		svd.UTo(&U)
		svd.VTo(&V)
		s := make([]float64, k)
		s[0], s[1] = 1+1e-6, 1
		for i := 2; i < k; i++ {
			s[i] = 0.5 * r.Float64()
		}
		US.Mul(&U, mat.NewDiagDense(k, s))
		X.Mul(&US, V.T())
		return &X
	}
	cases := map[string]*mat.Dense{
		"close pair": closePair(50, 120),
		"k<d":        random(100, 512, 0.3),
		"k>d":        random(100, 64, 0.3),
		"k=d":        random(40, 40, 0.5),
		"no spike":   random(30, 80, 0),
		"one row":    random(1, 16, 0),
		"one column": random(9, 1, 0),
		"rank one":   rankOne,
	}
	var r1 rank1 // shared, so that its buffers are reused across shapes
	for name, X := range cases {
		t.Run(name, func(t *testing.T) {
			want, wantExpl := svdDirection(t, X)
			got, expl := r1.direction(X.RawMatrix())
			require.Len(t, got, len(want))
			assert.InDelta(t, wantExpl, expl, 1e-12)
			assert.InDelta(t, 1, floats.Norm(got, 2), 1e-12)
			for j := range want {
				assert.InDelta(t, want[j], got[j], 1e-9, "entry %d", j)
			}
		})
	}
	t.Run("zero", func(t *testing.T) {
		v, expl := r1.direction(mat.NewDense(4, 6, nil).RawMatrix())
		assert.Equal(t, make([]float64, 6), v)
		assert.Zero(t, expl)
	})
	t.Run("not a number", func(t *testing.T) {
		X := random(4, 6, 0)
		X.Set(1, 2, math.NaN())
		assert.NotPanics(t, func() { r1.direction(X.RawMatrix()) })
	})
}

func TestOrient(t *testing.T) {
	rows := func(k, d int, x ...float64) blas64.General {
		return blas64.General{Rows: k, Cols: d, Stride: d, Data: x}
	}
	for _, tc := range []struct {
		name    string
		X       blas64.General
		v, want []float64
	}{
		{"majority positive: kept", rows(3, 2, 1, 0, 2, 1, -5, 0), []float64{1, 0}, []float64{1, 0}},
		{"majority negative: flipped", rows(3, 2, -1, 0, -2, 1, 5, 0), []float64{1, 0}, []float64{-1, 0}},
		{"half and half, farthest positive: kept", rows(4, 1, 3, -1, 1, -2.5), []float64{1}, []float64{1}},
		{"half and half, farthest negative: flipped", rows(4, 1, -3, 1, -1, 2.5), []float64{1}, []float64{-1}},
		{"centred rows summing to zero", rows(4, 1, 2, 1, -1.5, -1.5), []float64{1}, []float64{1}},
		{"orthogonal rows, no majority: farthest decides", rows(3, 2, 0, 1, -2, 0, 1, 0), []float64{1, 0}, []float64{-1, 0}},
		{"farthest tied: largest entry positive", rows(2, 2, 1, 1, -1, -1), []float64{-0.6, -0.8}, []float64{0.6, 0.8}},
		{"zero rows: largest entry positive", rows(2, 2, 0, 0, 0, 0), []float64{0.8, -0.6}, []float64{0.8, -0.6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := slices.Clone(tc.v)
			orient(tc.X, v)
			assert.Equal(t, tc.want, v)
		})
	}
}

func BenchmarkDirection(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	X := mat.NewDense(100, 512, nil)
	for i := range 100 {
		for j := range 512 {
			X.Set(i, j, r.NormFloat64())
		}
	}
	b.Run("gram", func(b *testing.B) {
		var r1 rank1
		for b.Loop() {
			r1.direction(X.RawMatrix())
		}
	})
	b.Run("svd", func(b *testing.B) {
		for b.Loop() {
			var svd mat.SVD
			svd.Factorize(X, mat.SVDThinV)
			var V mat.Dense
			svd.VTo(&V)
		}
	})
}

// tridiagonalCase is a random symmetric tridiagonal matrix of order n in
// r1's diag and off, with the top eigenvector of its dense form (by gonum's
// EigenSym) and the eigenvalues, ascending.
func tridiagonalCase(t *testing.T, r1 *rank1, n int, seed uint64) (top, vals []float64) {
	r := rand.New(rand.NewPCG(seed, 9))
	r1.diag, r1.off, r1.y = make([]float64, n), make([]float64, n-1), make([]float64, n)
	T := mat.NewSymDense(n, nil)
	for i := range n {
		r1.diag[i] = r.NormFloat64()
		T.SetSym(i, i, r1.diag[i])
		if i < n-1 {
			r1.off[i] = r.NormFloat64()
			T.SetSym(i, i+1, r1.off[i])
		}
	}
	var eig mat.EigenSym
	require.True(t, eig.Factorize(T, true))
	var V mat.Dense
	eig.VectorsTo(&V)
	return mat.Col(nil, n-1, &V), eig.Values(nil)
}

// sameUpToSign checks that unit vectors a and b agree within tol, up to sign.
func sameUpToSign(t *testing.T, want, got []float64, tol float64) {
	t.Helper()
	if floats.Dot(want, got) < 0 {
		got = slices.Clone(got)
		floats.Scale(-1, got)
	}
	for i := range want {
		assert.InDelta(t, want[i], got[i], tol, "entry %d", i)
	}
}

func TestInverseIteration(t *testing.T) {
	var r1 rank1
	top, vals := tridiagonalCase(t, &r1, 40, 1)
	lmax, scale := vals[len(vals)-1], max(math.Abs(vals[0]), math.Abs(vals[len(vals)-1]))

	require.True(t, r1.inverseIteration(lmax, scale, startVectors))
	sameUpToSign(t, top, r1.y, 1e-10)

	// A start orthogonal to the answer: rounding alone brings it in, in
	// a few more steps.
	start := make([]float64, 40)
	for i := range start {
		start[i] = startVectors[0](i)
	}
	floats.AddScaled(start, -floats.Dot(start, top), top)
	orthogonal := []func(int) float64{func(i int) float64 { return start[i] }}
	require.True(t, r1.inverseIteration(lmax, scale, orthogonal))
	sameUpToSign(t, top, r1.y, 1e-10)

	// The fall-back agrees.
	require.True(t, r1.tridiagonalTop())
	sameUpToSign(t, top, r1.y, 1e-10)
}

// TestRank1TiedTop gives X two equal top singular values: the direction
// is then any unit vector of their plane, and the explained share is exact.
func TestRank1TiedTop(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	k, d := 6, 9
	A := mat.NewDense(k, d, nil)
	for i := range k {
		for j := range d {
			A.Set(i, j, r.NormFloat64())
		}
	}
	var svd mat.SVD
	require.True(t, svd.Factorize(A, mat.SVDThin))
	var U, V, US, X mat.Dense
	svd.UTo(&U)
	svd.VTo(&V)
	s := []float64{2, 2, 1, 0.5, 0.25, 0.1}
	US.Mul(&U, mat.NewDiagDense(k, s))
	X.Mul(&US, V.T())
	var r1 rank1
	v, expl := r1.direction(X.RawMatrix())
	assert.InDelta(t, 1, floats.Norm(v, 2), 1e-12)
	var Xv mat.VecDense
	Xv.MulVec(&X, mat.NewVecDense(d, v))
	assert.InDelta(t, 2, Xv.Norm(2), 1e-10, "v lies in the top plane")
	assert.InDelta(t, 4/floats.Dot(s, s), expl, 1e-12)
}
