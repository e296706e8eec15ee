package numtest

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClose(t *testing.T) {
	assert.True(t, Close(t, []float64{1, math.NaN(), math.Inf(1)}, []float32{1.0000001, float32(math.NaN()), float32(math.Inf(1))}, 1e-6, 0))
	ft := &testing.T{}
	assert.False(t, Close(ft, []float64{1, 2}, []float64{1, 2.1}, 1e-3, 0))
	assert.False(t, Close(ft, []float64{1}, []float64{1, 2}, 1, 1))
	assert.Equal(t, 0.5, MaxAbsDiff([]float32{1, 2}, []float64{1.5, 2}))
	assert.Equal(t, 5.0, Norm([]float64{3, 4}))
}
