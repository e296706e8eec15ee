package decompose

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/lens"
	"github.com/neuronlens/neuronlens/sparse"
)

// randomEmbeddings are M unit×100 vectors in R^d with a common offset, as
// CLIP text embeddings have.
func randomEmbeddings(M, d int, seed uint64) *Embeddings {
	r := rand.New(rand.NewPCG(seed, 1))
	off := make([]float64, d)
	for j := range off {
		off[j] = r.NormFloat64()
	}
	e := &Embeddings{Dim: d, Data: make([]float32, M*d)}
	for i := range M {
		e.Texts = append(e.Texts, "text"+strconv.Itoa(i))
		row := make([]float64, d)
		var s float64
		for j := range d {
			row[j] = off[j] + 0.7*r.NormFloat64()
			s += row[j] * row[j]
		}
		for j := range d {
			e.Data[i*d+j] = float32(100 * row[j] / math.Sqrt(s))
		}
	}
	return e
}

func TestNormalizations(t *testing.T) {
	const M, d = 40, 12
	e := randomEmbeddings(M, d, 1)
	before := append([]float32(nil), e.Data...)
	// The direct float64 computation, column by column and row by row.
	E := make([][]float64, M)
	for i := range E {
		E[i] = make([]float64, d)
		for j := range d {
			E[i][j] = float64(e.Data[i*d+j])
		}
	}
	for j := range d {
		var mu float64
		for i := range M {
			mu += E[i][j]
		}
		for i := range M {
			E[i][j] -= mu / M
		}
	}
	ref := make([][]float64, M)
	unit := make([][]float64, M)
	for i := range M {
		ref[i], unit[i] = make([]float64, d), make([]float64, d)
		var rn float64
		for j := range d {
			rn += E[i][j] * E[i][j]
		}
		for j := range d {
			var cn float64
			for k := range M {
				cn += E[k][j] * E[k][j]
			}
			ref[i][j] = 100 * E[i][j] / math.Sqrt(cn)
			unit[i][j] = E[i][j] / math.Sqrt(rn)
		}
	}
	for _, tc := range []struct {
		name string
		norm Normalization
		want [][]float64
	}{
		{name: "reference", norm: Reference, want: ref},
		{name: "unit", norm: Unit, want: unit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dict, err := NewDictionary(e, tc.norm)
			require.NoError(t, err)
			assert.Equal(t, before, e.Data, "input not modified")
			for i := range M {
				for j := range d {
					w := tc.want[i][j]
					assert.InDelta(t, w, float64(dict.Atom(i)[j]), 1e-6*math.Max(1, math.Abs(w)), "atom %d dim %d", i, j)
				}
			}
		})
	}
	// Column norms are 100 under the reference; row norms 1 under unit.
	dr, _ := NewDictionary(e, Reference)
	du, _ := NewDictionary(e, Unit)
	for j := range d {
		var s float64
		for i := range M {
			s += float64(dr.Atom(i)[j]) * float64(dr.Atom(i)[j])
		}
		assert.InDelta(t, 100, math.Sqrt(s), 1e-4)
	}
	for i := range M {
		var s float64
		for _, v := range du.Atom(i) {
			s += float64(v) * float64(v)
		}
		assert.InDelta(t, 1, math.Sqrt(s), 1e-6)
	}

	_, err := NewDictionary(&Embeddings{Texts: []string{"a"}, Dim: 2, Data: []float32{1, 2}}, Reference)
	assert.Error(t, err)
	_, err = NewDictionary(e, Normalization(7))
	assert.Error(t, err)
	n, err := ParseNormalization("unit")
	require.NoError(t, err)
	assert.Equal(t, Unit, n)
	assert.Equal(t, "reference", Reference.String())
	_, err = ParseNormalization("column")
	assert.Error(t, err)
}

func TestDecomposeRecoversPlanted(t *testing.T) {
	for _, norm := range []Normalization{Reference, Unit} {
		t.Run(norm.String(), func(t *testing.T) {
			dict, err := NewDictionary(randomEmbeddings(300, 64, 2), norm)
			require.NoError(t, err)
			atoms := []int{17, 203, 42, 5}
			coefs := []float64{-1.7, 0.9, 2.5, -0.3}
			if norm == Reference {
				for i := range coefs {
					coefs[i] /= 100 // reference atoms are ~100× longer
				}
			}
			y := make([]float64, 64)
			for i, a := range atoms {
				for j, v := range dict.Atom(a) {
					y[j] += coefs[i] * float64(v)
				}
			}
			dec, err := dict.Decompose(y, 10)
			require.NoError(t, err)
			require.Len(t, dec.Terms, 4, "stops early once the residual vanishes")
			assert.True(t, dec.Stopped.Premature())
			// Sorted by |coef|: 42 (2.5), 17 (-1.7), 203 (0.9), 5 (-0.3).
			order := []int{2, 0, 1, 3}
			for r, i := range order {
				term := dec.Terms[r]
				assert.Equal(t, atoms[i], term.Index)
				assert.Equal(t, "text"+strconv.Itoa(atoms[i]), term.Text)
				assert.InDelta(t, coefs[i], term.Coef, 1e-9*math.Abs(coefs[i])+1e-12)
			}
			assert.InDelta(t, 1, dec.Cosine, 1e-12)
			for j := range y {
				assert.InDelta(t, y[j], dec.Reconstruction[j], 1e-9)
			}
		})
	}
}

func TestDecomposeSortingAndSigns(t *testing.T) {
	dict, err := NewDictionary(randomEmbeddings(200, 32, 3), Unit)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(3, 3))
	y := make([]float64, 32)
	for j := range y {
		y[j] = r.NormFloat64()
	}
	dec, err := dict.Decompose(y, 12)
	require.NoError(t, err)
	require.Len(t, dec.Terms, 12)
	var pos, neg int
	res, err := sparse.OMP(dict.dict, y, 12)
	require.NoError(t, err)
	coefOf := map[int]float64{}
	for i, a := range res.Atoms {
		coefOf[a] = res.Coefs[i]
	}
	recon := make([]float64, 32)
	for i, term := range dec.Terms {
		if i > 0 {
			assert.GreaterOrEqual(t, math.Abs(dec.Terms[i-1].Coef), math.Abs(term.Coef))
		}
		assert.Equal(t, coefOf[term.Index], term.Coef, "sign and value kept")
		if term.Coef > 0 {
			pos++
		} else {
			neg++
		}
		for j, v := range dict.Atom(term.Index) {
			recon[j] += term.Coef * float64(v)
		}
	}
	assert.Positive(t, pos)
	assert.Positive(t, neg, "a random direction needs negative terms too")
	var ab, aa, bb float64
	for j := range y {
		ab += recon[j] * y[j]
		aa += recon[j] * recon[j]
		bb += y[j] * y[j]
	}
	assert.InDelta(t, ab/math.Sqrt(aa*bb), dec.Cosine, 1e-12)
	assert.Less(t, dec.Cosine, 1.0)

	nn, err := dict.Decompose(y, 12, NonNegative())
	require.NoError(t, err)
	for _, term := range nn.Terms {
		assert.GreaterOrEqual(t, term.Coef, 0.0)
	}
	_, err = dict.Decompose(y, 0)
	assert.Error(t, err)
	_, err = dict.Decompose(y[:5], 3)
	assert.Error(t, err)
}

func TestDecomposeNeuronsJSON(t *testing.T) {
	const N, d = 12, 16
	dict, err := NewDictionary(randomEmbeddings(80, d, 4), Reference)
	require.NoError(t, err)
	dict.Texts[7] = `a "quoted" text, with comma`
	r := rand.New(rand.NewPCG(4, 4))
	dirs := mat.NewDense(N, d, nil)
	for n := range N {
		var s float64
		row := dirs.RawRowView(n)
		for j := range row {
			row[j] = r.NormFloat64()
			s += row[j] * row[j]
		}
		for j := range row {
			row[j] /= math.Sqrt(s)
		}
	}
	st := &lens.Stats{Layer: 9, Direction: dirs}
	var reports []int
	ds, err := DecomposeNeurons(t.Context(), dict, st, 5, WithWorkers(2), WithProgress(func(done, total int) { reports = append(reports, done) }))
	require.NoError(t, err)
	assert.Equal(t, 9, ds.Layer)
	assert.Equal(t, []int{N}, reports)
	require.Len(t, ds.Neurons, N)
	for n := range N {
		one, err := dict.Decompose(dirs.RawRowView(n), 5)
		require.NoError(t, err)
		assert.Equal(t, one, ds.Neurons[n], "neuron %d: batch equals one by one", n)
	}

	var buf bytes.Buffer
	require.NoError(t, ds.WriteJSON(&buf))
	out := buf.String()
	assert.True(t, strings.HasPrefix(out, `{"0": [[`), out[:20])
	assert.Less(t, strings.Index(out, `"9": `), strings.Index(out, `"10": `), "keys in numeric order")
	var generic map[string][][]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &generic))
	require.Len(t, generic, N)
	for n := range N {
		list := generic[strconv.Itoa(n)]
		require.Len(t, list, 5)
		for i, e := range list {
			require.Len(t, e, 3)
			term := ds.Neurons[n].Terms[i]
			assert.Equal(t, float64(term.Index), e[0])
			assert.Equal(t, term.Coef, e[1])
			assert.Equal(t, dict.Texts[term.Index], e[2])
		}
	}
	back, err := ReadJSON(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	for n := range N {
		assert.Equal(t, ds.Neurons[n].Terms, back[n])
	}
	path := t.TempDir() + "/layer9.json"
	require.NoError(t, ds.Save(path))

	rec := ds.Reconstructions()
	assert.Equal(t, ds.Neurons[3].Reconstruction, rec.RawRowView(3))

	_, err = DecomposeNeurons(t.Context(), dict, &lens.Stats{Direction: mat.NewDense(2, d+1, nil)}, 5)
	assert.Error(t, err)
	_, err = ReadJSON(strings.NewReader(`{"3": []}`))
	assert.Error(t, err)
	_, err = ReadJSON(strings.NewReader(`{"0": [], "00": []}`))
	assert.ErrorContains(t, err, "two keys")
}
