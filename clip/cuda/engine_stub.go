//go:build !cuda || !cgo

package cuda

import (
	"github.com/neuronlens/neuronlens/clip"
	cu "github.com/neuronlens/neuronlens/internal/cuda"
)

// built reports whether this binary has CUDA support compiled in.
const built = false

// engine is empty without CUDA support: no constructor ever returns one.
type engine struct{}

func newEngine(*clip.Model, config) (*engine, error) { return nil, ErrNotBuilt }
func (*engine) describe() string                     { return "" }
func (*engine) close() error                         { return nil }
func (*engine) upload([]float32) (cu.Buffer, error)  { return cu.Buffer{}, ErrNotBuilt }
func (*engine) free(cu.Buffer)                       {}
func (*engine) pageLocked(int) ([]float32, error)    { return nil, ErrNotBuilt }
func (*engine) freePageLocked([]float32)             {}
func (*engine) forward([][]float32, int, bool, [][]float32, *lensRequest, func() *batchResult) error {
	return ErrNotBuilt
}
