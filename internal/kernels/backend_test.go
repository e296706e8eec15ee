package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas/blas32"
)

func TestUse(t *testing.T) {
	t.Cleanup(func() { require.NoError(t, Use(BackendGo)) })

	require.NoError(t, Use(BackendGo))
	name, err := Backend()
	assert.Equal(t, BackendGo, name)
	assert.NoError(t, err)
	assert.IsType(t, Implementation{}, blas32.Implementation())

	assert.ErrorContains(t, Use("mkl"), "unknown BLAS backend")
	name, _ = Backend()
	assert.Equal(t, BackendGo, name, "a failed Use keeps the backend")

	require.NoError(t, Use(BackendAuto))
	_, loadErr := loadOpenBLAS()
	name, _ = Backend()
	if loadErr != nil {
		assert.Equal(t, BackendGo, name, "auto without a library")
		assert.ErrorContains(t, Use(BackendOpenBLAS), "openblas backend")
		t.Skipf("no CBLAS library: %v", loadErr)
	}
	assert.NotEqual(t, BackendGo, name)
	require.NoError(t, Use(BackendOpenBLAS))
	testLinear(t)
}

func TestUseFromEnv(t *testing.T) {
	t.Cleanup(func() { require.NoError(t, Use(BackendGo)) })
	t.Setenv(EnvBLAS, "nonsense")
	assert.Error(t, UseFromEnv())
	t.Setenv(EnvBLAS, "")
	require.NoError(t, UseFromEnv())
	name, _ := Backend()
	assert.Equal(t, BackendGo, name)
}

func TestLinear(t *testing.T) { testLinear(t) }

// testLinear checks Linear and Gemm through whichever backend is installed.
func testLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, in, out = 9, 21, 11
	x, w, b := randSlice(rng, rows*in), randSlice(rng, out*in), randSlice(rng, out)
	want := make([]float64, rows*out)
	for r := range rows {
		for o := range out {
			s := float64(b[o])
			for i := range in {
				s += float64(x[r*in+i]) * float64(w[o*in+i])
			}
			want[r*out+o] = s
		}
	}
	got := make([]float32, rows*out)
	Linear(got, x, rows, in, w, b, out)
	numtest.Close(t, want, got, 1e-5, 1e-5, "Linear")

	// Gemm with both transposes: Cᵀ = W·Xᵀ.
	ct := make([]float32, out*rows)
	Gemm(false, true, 1, Matrix{Rows: out, Cols: in, Stride: in, Data: w}, Matrix{Rows: rows, Cols: in, Stride: in, Data: x},
		0, Matrix{Rows: out, Cols: rows, Stride: rows, Data: ct})
	for r := range rows {
		for o := range out {
			assert.InDelta(t, want[r*out+o]-float64(b[o]), float64(ct[o*rows+r]), 1e-4)
		}
	}
}

func TestOpenCBLASMissing(t *testing.T) {
	_, err := openCBLAS([]string{"libneuronlens-missing.so"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "libneuronlens-missing.so")
}
