package sparse

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Dictionary is a read-only set of M atoms in R^d, held as a row-major
// [M, d] matrix: atom m is row m, element (m, j) at data[m*d+j]. Atoms are
// used as given, not normalized (the reference does not normalize them).
//
// The precision of the storage is the precision of the bulk correlation
// scan E·r, the only step that reads every atom: a float32 dictionary halves
// the memory and runs the scan about three times faster; all active-set
// algebra (Gram entries, Cholesky, coefficients, residuals) is float64 in
// both cases.
//
// A Dictionary is safe for concurrent use by any number of pursuits.
type Dictionary struct {
	m, d   int
	e64    []float64 // [M, d] when built from float64 data
	e32    []float32 // [M, d] when built from float32 data
	norms2 []float64 // [M]: ‖e_m‖², the diagonal of the Gram matrix E·Eᵀ
}

// NewDictionary copies atoms, an [M, d] matrix with one atom per row, into a
// float64 dictionary. It returns an error if the matrix is empty or holds
// a NaN or an infinity.
func NewDictionary(atoms mat.Matrix) (*Dictionary, error) {
	m, d := atoms.Dims()
	if m == 0 || d == 0 {
		return nil, fmt.Errorf("%w: dictionary is [%d %d], want non-empty", ErrInput, m, d)
	}
	e := make([]float64, m*d)
	dense := mat.NewDense(m, d, e)
	dense.Copy(atoms)
	for i, v := range e {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: dictionary element (%d, %d) is %v", ErrInput, i/d, i%d, v)
		}
	}
	dict := &Dictionary{m: m, d: d, e64: e, norms2: make([]float64, m)}
	for i := range m {
		row := e[i*d : (i+1)*d]
		dict.norms2[i] = dot64(row, row)
	}
	return dict, nil
}

// NewDictionary32 wraps data, a row-major [rows, cols] float32 matrix with
// one atom per row (data[m*cols+j]), without copying it: data must not be
// modified while the dictionary is in use. It returns an error if the matrix
// is empty or holds a NaN or an infinity, and panics if len(data) !=
// rows*cols.
func NewDictionary32(rows, cols int, data []float32) (*Dictionary, error) {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		panic(fmt.Sprintf("sparse: NewDictionary32: len(data) = %d, want %d×%d", len(data), rows, cols))
	}
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("%w: dictionary is [%d %d], want non-empty", ErrInput, rows, cols)
	}
	dict := &Dictionary{m: rows, d: cols, e32: data, norms2: make([]float64, rows)}
	for i := range rows {
		var s float64
		for j, v := range data[i*cols : (i+1)*cols] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: dictionary element (%d, %d) is %v", ErrInput, i, j, v)
			}
			s += float64(v) * float64(v)
		}
		dict.norms2[i] = s
	}
	return dict, nil
}

// Dims returns the number of atoms M and their dimension d.
func (dict *Dictionary) Dims() (m, d int) { return dict.m, dict.d }

// Float32 returns a float32 copy of the dictionary (itself if it already is
// float32). The Gram diagonal is recomputed from the rounded atoms. It
// returns an error if an atom overflows float32.
func (dict *Dictionary) Float32() (*Dictionary, error) {
	if dict.e32 != nil {
		return dict, nil
	}
	e := make([]float32, len(dict.e64))
	for i, v := range dict.e64 {
		e[i] = float32(v)
	}
	return NewDictionary32(dict.m, dict.d, e)
}

// atom64 writes atom m as float64 into dst [d].
func (dict *Dictionary) atom64(dst []float64, m int) {
	if dict.e64 != nil {
		copy(dst, dict.e64[m*dict.d:(m+1)*dict.d])
		return
	}
	for j, v := range dict.e32[m*dict.d : (m+1)*dict.d] {
		dst[j] = float64(v)
	}
}

// dot64 is the plain float64 dot product used for the active-set algebra.
func dot64(a, b []float64) float64 {
	var s0, s1, s2, s3 float64
	n := len(a) / 4 * 4
	for j := 0; j < n; j += 4 {
		s0 += a[j] * b[j]
		s1 += a[j+1] * b[j+1]
		s2 += a[j+2] * b[j+2]
		s3 += a[j+3] * b[j+3]
	}
	for j := n; j < len(a); j++ {
		s0 += a[j] * b[j]
	}
	return (s0 + s1) + (s2 + s3)
}
