package decompose

import (
	"fmt"
	"math"

	"github.com/neuronlens/neuronlens/sparse"
)

// Normalization says how pool embeddings become dictionary atoms.
type Normalization uint8

const (
	// Reference is the reference implementation's normalization, the
	// default: centre over the texts, then scale each embedding dimension
	// (column) to norm Scale over the pool,
	//
	//	Ē = E − mean_i E_i,   atom_i[j] = Scale · Ē[i, j] / ‖Ē[:, j]‖.
	//
	// Atoms do not have equal lengths. A column that is constant over the
	// pool stays 0.
	Reference Normalization = iota
	// Unit centres over the texts, then gives every text unit length,
	//
	//	atom_i = Ē_i / ‖Ē_i‖,
	//
	// so that OMP picks atoms by cosine. A text equal to the mean stays 0.
	Unit
)

// String returns "reference" or "unit".
func (n Normalization) String() string {
	switch n {
	case Reference:
		return "reference"
	case Unit:
		return "unit"
	}
	return fmt.Sprintf("Normalization(%d)", uint8(n))
}

// ParseNormalization reads "reference" or "unit".
func ParseNormalization(s string) (Normalization, error) {
	switch s {
	case "reference":
		return Reference, nil
	case "unit":
		return Unit, nil
	}
	return 0, fmt.Errorf("decompose: normalization %q: want reference or unit", s)
}

// Dictionary is a normalized text pool, ready to code directions with OMP.
// It is read-only and safe for concurrent use.
type Dictionary struct {
	Texts []string
	Norm  Normalization
	Dim   int // d
	// Atoms is [M, d], row-major: atom i (text i) at Atoms[i*Dim:(i+1)*Dim].
	// The normalization is computed in float64 and rounded once.
	Atoms []float32

	dict *sparse.Dictionary
}

// NewDictionary normalizes the embeddings e with norm (see [Normalization])
// into a dictionary. e is not modified. It returns an error for an unknown
// normalization or a pool of fewer than two texts (centring leaves nothing).
func NewDictionary(e *Embeddings, norm Normalization) (*Dictionary, error) {
	M, d := len(e.Texts), e.Dim
	if len(e.Data) != M*d {
		panic(fmt.Sprintf("decompose: NewDictionary: %d values for %d texts of %d", len(e.Data), M, d))
	}
	if M < 2 {
		return nil, fmt.Errorf("decompose: a dictionary needs at least 2 texts, the pool has %d", M)
	}
	if norm != Reference && norm != Unit {
		return nil, fmt.Errorf("decompose: unknown normalization %v", norm)
	}
	mean := make([]float64, d)
	for i := range M {
		for j, v := range e.Data[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(M)
	}
	c := make([]float64, M*d)
	for i := range M {
		for j, v := range e.Data[i*d : (i+1)*d] {
			c[i*d+j] = float64(v) - mean[j]
		}
	}
	atoms := make([]float32, M*d)
	switch norm {
	case Reference:
		col := make([]float64, d)
		for i := range M {
			for j, v := range c[i*d : (i+1)*d] {
				col[j] += v * v
			}
		}
		for j := range col {
			if col[j] > 0 {
				col[j] = Scale / math.Sqrt(col[j])
			}
		}
		for i, v := range c {
			atoms[i] = float32(v * col[i%d])
		}
	case Unit:
		for i := range M {
			row := c[i*d : (i+1)*d]
			var s float64
			for _, v := range row {
				s += v * v
			}
			f := 0.0
			if s > 0 {
				f = 1 / math.Sqrt(s)
			}
			for j, v := range row {
				atoms[i*d+j] = float32(v * f)
			}
		}
	}
	sd, err := sparse.NewDictionary32(M, d, atoms)
	if err != nil {
		return nil, fmt.Errorf("decompose: %w", err)
	}
	return &Dictionary{Texts: e.Texts, Norm: norm, Dim: d, Atoms: atoms, dict: sd}, nil
}

// Len returns the number of atoms (texts), M.
func (dict *Dictionary) Len() int { return len(dict.Texts) }

// Atom returns atom i, [d], a view into Atoms.
func (dict *Dictionary) Atom(i int) []float32 { return dict.Atoms[i*dict.Dim : (i+1)*dict.Dim] }
