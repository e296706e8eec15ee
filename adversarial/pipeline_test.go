package adversarial

import (
	"bytes"
	"context"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/lens"
)

func TestShapesGenerator(t *testing.T) {
	g := ShapesGenerator{Size: 48}
	imgs, err := g.Generate(t.Context(), "two large red squares in the sky with a telescope", 3, 5)
	require.NoError(t, err)
	require.Len(t, imgs, 3)
	sc, _ := shapes.Parse("two large red squares in the sky", 6)
	assert.Equal(t, shapes.Render(sc, 48, 48).Image, imgs[1], "image i is Parse(desc, seed+i) rendered")
	assert.Equal(t, []string{"telescope"}, g.Ignored("two large red squares in the sky with a telescope"))
}

func TestFolderGenerator(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 4, 4))
		img.SetRGBA(0, 0, c)
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, img))
		require.NoError(t, os.WriteFile(filepath.Join(dir, strconv.Itoa(i)+".png"), b.Bytes(), 0o644))
	}
	index := "description,file\n\"a moon, in the sky\",0.png\na red moon,1.png\n\"a moon, in the sky\",2.png\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.csv"), []byte(index), 0o644))
	g, err := OpenFolder(dir)
	require.NoError(t, err)
	imgs, err := g.Generate(t.Context(), "a moon, in the sky", 5, 0)
	require.NoError(t, err)
	require.Len(t, imgs, 2)
	r, _, _, _ := imgs[1].At(0, 0).RGBA()
	_, _, b, _ := imgs[1].At(0, 0).RGBA()
	assert.Equal(t, uint32(0), r)
	assert.Equal(t, uint32(0xffff), b, "the second listed file")
	_, err = g.Generate(t.Context(), "a blue moon", 1, 0)
	assert.ErrorIs(t, err, ErrNoImages)

	tests := []struct {
		name, index, want string
	}{
		{"header", "prompt,path\na,0.png\n", "want description,file"},
		{"width", "description,file\na,0.png,x\n", "wrong number of fields"},
		{"empty", "description,file\n,0.png\n", "empty description"},
		{"outside", "description,file\na,../0.png\n", "outside the folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(d, "index.csv"), []byte(tt.index), 0o644))
			_, err := OpenFolder(d)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	_, err = OpenFolder(t.TempDir())
	assert.Error(t, err)

	var buf bytes.Buffer
	require.NoError(t, WritePrompts(&buf, []string{"a moon, in the sky"}, 4, 10))
	assert.Equal(t, "description,images,seed\n\"a moon, in the sky\",4,10\n", buf.String())
}

// analyzed runs the lens on shapes images for the random model.
func analyzed(t *testing.T) (*lens.Results, []image.Image) {
	t.Helper()
	m := randomModel(t, 1)
	src := shapes.Dataset(3, 40)
	imgs := make([]image.Image, src.Len())
	for i := range imgs {
		imgs[i] = src.At(i).Image
	}
	res, err := lens.Analyze(t.Context(), m, lens.Generator(len(imgs), func(i int) (image.Image, error) { return imgs[i], nil }),
		lens.WithLayers(1, 2), lens.WithK(8))
	require.NoError(t, err)
	return res, imgs
}

func TestPipelineRun(t *testing.T) {
	m := randomModel(t, 1)
	res, _ := analyzed(t)
	dec, err := NewTextDecomposer(t.Context(), m, shapes.Phrases(), decompose.Reference)
	require.NoError(t, err)
	dir := t.TempDir()
	p := &Pipeline{Model: m, Results: res, Decomposer: dec, Images: 10, PerDescription: 3, Dir: dir,
		Options: []Option{WithNeurons(20), WithTerms(16), WithWords(10), WithThreshold(2)}}
	pairs := []Pair{{A: "star", B: "moon"}, {A: "ring", B: "circle"}}
	methods := []Method{SecondOrder, RandomNeurons, SimilarWords}
	rep, err := p.Run(t.Context(), pairs, methods, []uint64{0, 1})
	require.NoError(t, err)
	require.Len(t, rep.Outcomes, 2*3*2)

	j, err := NewJudge(m, pairs[0])
	require.NoError(t, err)
	for _, o := range rep.Outcomes {
		require.Len(t, o.Attempts, 10, "exactly the budget")
		assert.NotEmpty(t, o.Mined.Words)
		for _, a := range o.Attempts {
			assert.Equal(t, a.ScoreA > a.ScoreB, a.Success)
			assert.Equal(t, a.Success, a.Image != nil, "successful images are kept")
			assert.True(t, Valid(a.Description, o.Pair.B, []string{o.Pair.A}))
			assert.FileExists(t, filepath.Join(dir, filepath.FromSlash(a.File)))
		}
		if o.Method != SimilarWords {
			assert.NotEmpty(t, o.Mined.Neurons)
		}
		assert.FileExists(t, filepath.Join(dir, slug(o.Pair.A)+"_"+slug(o.Pair.B), o.Method.String(), "seed"+strconv.FormatUint(o.Seed, 10), "words.txt"))
	}
	// The judge is the independent binary test on the written image.
	o := rep.Outcomes[0]
	img, err := readImage(filepath.Join(dir, o.Attempts[0].File))
	require.NoError(t, err)
	a, b, err := j.Score(t.Context(), []image.Image{img})
	require.NoError(t, err)
	assert.InDelta(t, o.Attempts[0].ScoreA, a[0], 1e-6)
	assert.InDelta(t, o.Attempts[0].ScoreB, b[0], 1e-6)

	// index.csv: a header and one row per attempt.
	f, err := os.Open(filepath.Join(dir, "index.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 1+2*3*2*10)
	assert.Equal(t, []string{"a", "b", "method", "seed", "image", "description", "score_a", "score_b", "success"}, rows[0])

	// Rates: mean and sample std over seeds.
	mean, std, n := rep.Rate(pairs[1], RandomNeurons)
	var xs []float64
	for _, o := range rep.Outcomes {
		if o.Pair == pairs[1] && o.Method == RandomNeurons {
			xs = append(xs, o.Rate())
		}
	}
	assert.Equal(t, 2, n)
	assert.InDelta(t, (xs[0]+xs[1])/2, mean, 1e-12)
	assert.InDelta(t, math.Abs(xs[0]-xs[1])/math.Sqrt2, std, 1e-12)
	var tb strings.Builder
	require.NoError(t, rep.Table(&tb))
	assert.Contains(t, tb.String(), "| star ← moon |")
	assert.Contains(t, tb.String(), "| ours | random | similar |")

	// Same seeds, same everything.
	p.Dir = ""
	rep2, err := p.Run(t.Context(), pairs[:1], methods[:1], []uint64{0})
	require.NoError(t, err)
	for i, a := range rep2.Outcomes[0].Attempts {
		assert.Equal(t, rep.Outcomes[0].Attempts[i].ScoreA, a.ScoreA)
		assert.Equal(t, rep.Outcomes[0].Attempts[i].Description, a.Description)
	}
}

// onlyBad describes without B.
type onlyBad struct{}

func (onlyBad) Describe(context.Context, Request) ([]string, error) {
	return []string{"a star in the sky", "a circle"}, nil
}

func TestPipelineErrors(t *testing.T) {
	m := randomModel(t, 1)
	dec := &fakeDecomposer{texts: testPool}
	p := &Pipeline{Model: m, Decomposer: dec, Describer: onlyBad{}, Images: 4}
	_, err := p.Attack(t.Context(), Pair{A: "star", B: "moon"}, SimilarWords, 0)
	assert.ErrorIs(t, err, ErrNoDescriptions)
	_, err = p.Run(t.Context(), nil, Methods(), []uint64{0})
	assert.Error(t, err)
}

func TestTextDecomposer(t *testing.T) {
	m := randomModel(t, 2)
	pool := shapes.Phrases()
	dec, err := NewTextDecomposer(t.Context(), m, pool, decompose.Reference)
	require.NoError(t, err)
	assert.Equal(t, pool, dec.Texts())
	dirs := mat.NewDense(2, 16, nil)
	dirs.Set(0, 0, 1)
	dirs.Set(1, 5, -1)
	ts, err := dec.Decompose(t.Context(), dirs, 200)
	require.NoError(t, err)
	require.Len(t, ts, 2)
	// With every atom allowed, OMP reconstructs the direction (d = 16 ≪ M).
	for i, row := range ts {
		require.NotEmpty(t, row)
		rec := make([]float64, 16)
		for k, tm := range row {
			assert.Equal(t, pool[tm.Index], tm.Text)
			if k > 0 {
				assert.GreaterOrEqual(t, math.Abs(row[k-1].Coef), math.Abs(tm.Coef))
			}
			atom := atomOf(t, m, pool, tm.Index)
			for j := range rec {
				rec[j] += tm.Coef * atom[j]
			}
		}
		for j := range rec {
			assert.InDelta(t, dirs.At(i, j), rec[j], 1e-6)
		}
	}
	_, err = NewTextDecomposer(t.Context(), m, []string{"a", "a"}, decompose.Reference)
	assert.ErrorContains(t, err, "twice")
}

// atomOf recomputes one normalized dictionary atom from scratch.
func atomOf(t *testing.T, m interface {
	EncodeText([]string) ([][]float32, error)
}, pool []string, idx int) []float64 {
	t.Helper()
	e, err := m.EncodeText(pool)
	require.NoError(t, err)
	M, d := len(pool), len(e[0])
	E := make([][]float64, M)
	for i := range E {
		E[i] = unit(toF64(e[i]))
		for j := range E[i] {
			E[i][j] *= 100
		}
	}
	out := make([]float64, d)
	for j := range d {
		var mean, ss float64
		for i := range M {
			mean += E[i][j]
		}
		mean /= float64(M)
		for i := range M {
			ss += (E[i][j] - mean) * (E[i][j] - mean)
		}
		out[j] = 100 * (E[idx][j] - mean) / math.Sqrt(ss)
	}
	return out
}

func TestComputeIndirect(t *testing.T) {
	m := randomModel(t, 1)
	src := shapes.Dataset(5, 3)
	imgs := []image.Image{src.At(0).Image, src.At(1).Image, src.At(2).Image}
	ie, err := ComputeIndirect(t.Context(), m, imgs, []int{2})
	require.NoError(t, err)
	require.NotNil(t, ie.Layer(2))
	assert.Nil(t, ie.Layer(1))
	r, c := ie.Layer(2).Dims()
	assert.Equal(t, []int{128, 16}, []int{r, c})
	// A neuron's mean indirect effect is the mean of the changes of f when
	// it is set to its mean: check neuron 5 by direct ablation.
	_, err = ComputeIndirect(t.Context(), m, imgs, []int{9})
	assert.ErrorContains(t, err, "out of range")
	_, err = ComputeIndirect(t.Context(), m, nil, []int{1})
	assert.Error(t, err)
	var norm float64
	for _, v := range ie.Layer(2).RawMatrix().Data {
		norm += v * v
	}
	assert.Greater(t, norm, 0.0)
}

func TestContactSheet(t *testing.T) {
	imgs := []image.Image{image.NewUniform(color.RGBA{255, 0, 0, 255}), image.NewUniform(color.RGBA{0, 0, 255, 255})}
	for i := range imgs {
		u := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for y := range 8 {
			for x := range 8 {
				u.Set(x, y, imgs[i].At(0, 0))
			}
		}
		imgs[i] = u
	}
	s := ContactSheet(imgs, 1, 16)
	assert.Equal(t, image.Rect(0, 0, 1*(16+2)+2, 2*(16+9+2)+2), s.Bounds())
	assert.Equal(t, color.RGBA{255, 0, 0, 255}, s.RGBAAt(2+5, 2+9+5))
	assert.Equal(t, color.RGBA{0, 0, 255, 255}, s.RGBAAt(2+5, 2+27+9+5))
	assert.Equal(t, color.RGBA{255, 255, 255, 255}, s.RGBAAt(2+1+1, 2+2), "top of the digit 1")
	var b strings.Builder
	require.NoError(t, WriteSheetIndex(&b, []string{"a moon", "a\tred moon"}))
	assert.Equal(t, "1\ta moon\n2\ta red moon\n", b.String())
}
