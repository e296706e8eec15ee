package adversarial

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/lens"
)

// Pair is a class pair: images that depict B should be classified as A.
type Pair struct {
	A string // the class to fool CLIP towards; descriptions never mention it
	B string // the class the images depict
}

// String returns "A←B", read "B passing for A".
func (p Pair) String() string { return p.A + "←" + p.B }

// Neuron names one MLP neuron: channel Index of block Layer.
type Neuron struct{ Layer, Index int }

// String returns "L2/N117".
func (n Neuron) String() string { return fmt.Sprintf("L%d/N%d", n.Layer, n.Index) }

// Term is one atom of a neuron's sparse decomposition, r_n ≈ Σ Coef·atom(Text):
// the text's Index in the pool, the Text and its signed Coef.
type Term = decompose.Term

// Decomposer writes neuron directions as sparse sums of text embeddings
// (METHOD.md §3). [TextDecomposer] is the reference's OMP over a text pool.
type Decomposer interface {
	// Texts returns the text pool; Term.Index indexes it.
	Texts() []string
	// Decompose returns, for each row of dirs [n, d] (one unit direction
	// r_n per row), at most k terms sorted by decreasing |Coef|.
	Decompose(ctx context.Context, dirs *mat.Dense, k int) ([][]Term, error)
}

// Method says how [Mine] picks neurons or words.
type Method uint8

const (
	// SecondOrder is the method of METHOD.md §5: the neurons with the
	// largest |<r_n, e(A) − e(B)>|.
	SecondOrder Method = iota
	// RandomNeurons is the baseline of random neurons of the same layers
	// ([WithSeed]); words are scored as for SecondOrder.
	RandomNeurons
	// IndirectNeurons is the baseline of the neurons with the largest
	// |<ῑ_n, e(A) − e(B)>|, ῑ_n their mean indirect effect ([WithIndirect]);
	// their words are scored as for SecondOrder.
	IndirectNeurons
	// SimilarWords is the baseline of the pool's texts most similar to A
	// under the CLIP text tower, filtered like every other method.
	SimilarWords
	numMethods
)

var methodNames = [...]string{"ours", "random", "indirect", "similar"}

// Methods returns every method, SecondOrder first.
func Methods() []Method { return []Method{SecondOrder, RandomNeurons, IndirectNeurons, SimilarWords} }

// String returns the method's short name: "ours", "random", "indirect" or
// "similar".
func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// ParseMethod reads a name that String returns.
func ParseMethod(s string) (Method, error) {
	if i := slices.Index(methodNames[:], s); i >= 0 {
		return Method(i), nil
	}
	return 0, fmt.Errorf("adversarial: unknown method %q (want one of %s)", s, strings.Join(methodNames[:], ", "))
}

// Selected is one kept neuron with its decomposition.
type Selected struct {
	Neuron
	Score float64 // <r_n, Δ>, Δ = e(A) − e(B): the weight of its words
	By    float64 // the selection key: Score, <ῑ_n, Δ> for IndirectNeurons, 0 for RandomNeurons
	Terms []Term  // the decomposition of r_n, by decreasing |Coef|
}

// Source is one (neuron, term) entry behind a word.
type Source struct {
	Neuron      Neuron
	Coef        float64 // the term's coefficient in r_n's decomposition
	NeuronScore float64 // <r_n, Δ>
	Score       float64 // Coef · NeuronScore
}

// Word is a kept word.
type Word struct {
	Text       string
	Score      float64  // the best Source.Score (SimilarWords: the similarity)
	Similarity float64  // cosine similarity to A under the CLIP text tower
	Sources    []Source // every entry of this text, by decreasing Score
}

// Reason says why a word was dropped.
type Reason uint8

const (
	// DropTarget: the word is A or contains it.
	DropTarget Reason = iota
	// DropBlocklist: the word is or contains a blocklisted synonym of A.
	DropBlocklist
	// DropSimilar: its similarity to A reaches the threshold.
	DropSimilar
)

var reasonNames = [...]string{"target", "blocklist", "similar"}

// String returns "target", "blocklist" or "similar".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Dropped is a word the filter removed.
type Dropped struct {
	Text       string
	Reason     Reason
	Match      string  // the blocklist entry or A that it contains
	Similarity float64 // cosine similarity to A
	Score      float64 // its best entry's score
}

// Mined is the result of [Mine] for one pair and method.
type Mined struct {
	Pair    Pair
	Method  Method
	Delta   []float64  // Δ = e(A) − e(B), [d], e the unit class embeddings
	Neurons []Selected // kept neurons in selection order (none for SimilarWords)
	Words   []Word     // kept words, best first
	Dropped []Dropped  // every candidate text the filter removed, best first
}

// Texts returns the kept words' texts, best first.
func (r *Mined) Texts() []string {
	out := make([]string, len(r.Words))
	for i, w := range r.Words {
		out[i] = w.Text
	}
	return out
}

// Mine picks words for the pair (METHOD.md §5, steps 1–4): with Δ = e(A) −
// e(B), the unit embeddings of the two class names,
//
//	s_n = <r_n, Δ>                      over the neurons of every layer together
//	keep the WithNeurons (100) neurons of largest |s_n|
//	entry (n, t) scores Coef_t · s_n    over the WithTerms (128) terms of each
//	drop texts that are A, contain A or a blocklisted synonym, or have
//	    cos(e(text), e(A)) ≥ WithThreshold (0.6)
//	keep the WithWords (50) texts of best entry score
//
// r_n are the lens directions of res ([lens.Stats.Direction]) for
// [WithLayers] (default every layer of res). The baselines replace the
// neuron choice ([RandomNeurons], [IndirectNeurons]) or the whole scoring
// ([SimilarWords]: texts of dec's pool by similarity to A). Mine is
// deterministic.
//
// Errors: an empty class name, a missing layer, directions whose dimension
// is not the model's embedding dimension, a non-positive count, a missing
// [WithIndirect] for IndirectNeurons, and errors of the text tower or of
// dec.
func Mine(ctx context.Context, m *clip.Model, res *lens.Results, dec Decomposer, p Pair, opts ...Option) (*Mined, error) {
	cfg := newConfig(opts)
	if strings.TrimSpace(p.A) == "" || strings.TrimSpace(p.B) == "" {
		return nil, fmt.Errorf("adversarial: pair %q, %q: empty class name", p.A, p.B)
	}
	if cfg.neurons < 1 || cfg.terms < 1 || cfg.words < 1 {
		return nil, fmt.Errorf("adversarial: neurons %d, terms %d, words %d: want all ≥ 1", cfg.neurons, cfg.terms, cfg.words)
	}
	if cfg.method >= numMethods {
		return nil, fmt.Errorf("adversarial: unknown method %d", cfg.method)
	}
	if m == nil || dec == nil {
		return nil, errors.New("adversarial: nil model or decomposer")
	}
	cls, err := classEmbeddings(m, p, cfg.templates)
	if err != nil {
		return nil, err
	}
	d := cls.Dim
	eA := toF64(cls.Weights[:d])
	out := &Mined{Pair: p, Method: cfg.method, Delta: make([]float64, d)}
	for j := range d {
		out.Delta[j] = float64(cls.Weights[j]) - float64(cls.Weights[d+j])
	}
	emb := newTextCache(m)

	type entry struct {
		text  string
		src   Source
		index int // pool index, for ties
	}
	var entries []entry
	if cfg.method == SimilarWords {
		pool := dec.Texts()
		if err := emb.add(pool); err != nil {
			return nil, err
		}
		for i, t := range pool {
			entries = append(entries, entry{text: t, index: i, src: Source{Score: cosine(emb.get(t), eA)}})
		}
	} else {
		if res == nil {
			return nil, errors.New("adversarial: nil lens results")
		}
		sel, err := selectNeurons(res, out.Delta, cfg)
		if err != nil {
			return nil, err
		}
		dirs := mat.NewDense(len(sel), d, nil)
		for i, s := range sel {
			dirs.SetRow(i, res.Layer(s.Layer).Direction.RawRowView(s.Index))
		}
		terms, err := dec.Decompose(ctx, dirs, cfg.terms)
		if err != nil {
			return nil, err
		}
		if len(terms) != len(sel) {
			return nil, fmt.Errorf("adversarial: decomposer returned %d neurons, want %d", len(terms), len(sel))
		}
		for i := range sel {
			sel[i].Terms = terms[i]
			for _, t := range terms[i] {
				entries = append(entries, entry{text: t.Text, index: t.Index, src: Source{
					Neuron: sel[i].Neuron, Coef: t.Coef, NeuronScore: sel[i].Score, Score: t.Coef * sel[i].Score,
				}})
			}
		}
		out.Neurons = sel
	}
	slices.SortStableFunc(entries, func(x, y entry) int {
		if c := cmp.Compare(y.src.Score, x.src.Score); c != 0 {
			return c
		}
		return cmp.Compare(x.index, y.index)
	})

	// Filter every distinct text once, best entry first.
	var texts []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.text] {
			seen[e.text] = true
			texts = append(texts, e.text)
		}
	}
	if err := emb.add(texts); err != nil {
		return nil, err
	}
	avoid := append([]string{p.A}, cfg.blocklist...)
	dropped := map[string]bool{}
	best := map[string]float64{}
	for _, e := range entries {
		if _, ok := best[e.text]; !ok {
			best[e.text] = e.src.Score
		}
	}
	for _, t := range texts {
		sim := cosine(emb.get(t), eA)
		dr := Dropped{Text: t, Similarity: sim, Score: best[t]}
		switch {
		case mentions(t, p.A):
			dr.Reason, dr.Match = DropTarget, p.A
		case firstMention(t, avoid[1:]) != "":
			dr.Reason, dr.Match = DropBlocklist, firstMention(t, avoid[1:])
		case sim >= cfg.threshold:
			dr.Reason = DropSimilar
		default:
			continue
		}
		dropped[t] = true
		out.Dropped = append(out.Dropped, dr)
	}

	// Keep words: the best W distinct texts, or (ReferenceCut) the distinct
	// texts of the best W entries.
	var keep []entry
	for _, e := range entries {
		if !dropped[e.text] {
			keep = append(keep, e)
		}
	}
	allowed := map[string]bool{}
	for i, e := range keep {
		if cfg.entryCut && i >= cfg.words || !cfg.entryCut && len(allowed) == cfg.words && !allowed[e.text] {
			break
		}
		allowed[e.text] = true
	}
	kept := map[string]int{}
	for _, e := range keep {
		if !allowed[e.text] {
			continue
		}
		k, ok := kept[e.text]
		if !ok {
			k = len(out.Words)
			kept[e.text] = k
			out.Words = append(out.Words, Word{Text: e.text, Score: e.src.Score, Similarity: cosine(emb.get(e.text), eA)})
		}
		if cfg.method != SimilarWords {
			out.Words[k].Sources = append(out.Words[k].Sources, e.src)
		}
	}
	return out, nil
}

// selectNeurons scores every neuron of the layers and keeps cfg.neurons.
func selectNeurons(res *lens.Results, delta []float64, cfg *config) ([]Selected, error) {
	layers := cfg.layers
	if layers == nil {
		for _, s := range res.Layers {
			layers = append(layers, s.Layer)
		}
	}
	if len(layers) == 0 {
		return nil, errors.New("adversarial: lens results have no layers")
	}
	var all []Selected
	for _, l := range layers {
		st := res.Layer(l)
		if st == nil || st.Direction == nil {
			return nil, fmt.Errorf("adversarial: lens results have no directions for layer %d", l)
		}
		N, d := st.Direction.Dims()
		if d != len(delta) {
			return nil, fmt.Errorf("adversarial: layer %d directions are [%d %d], want d = %d", l, N, d, len(delta))
		}
		var ind *mat.Dense
		if cfg.method == IndirectNeurons {
			if cfg.indirect == nil {
				return nil, errors.New("adversarial: the indirect baseline needs WithIndirect")
			}
			if ind = cfg.indirect.Layer(l); ind == nil {
				return nil, fmt.Errorf("adversarial: no indirect effects for layer %d", l)
			}
			if r, c := ind.Dims(); r != N || c != d {
				return nil, fmt.Errorf("adversarial: layer %d indirect effects are [%d %d], want [%d %d]", l, r, c, N, d)
			}
		}
		for n := range N {
			s := dot(st.Direction.RawRowView(n), delta)
			sel := Selected{Neuron: Neuron{l, n}, Score: s}
			switch cfg.method {
			case SecondOrder:
				sel.By = s
			case IndirectNeurons:
				sel.By = dot(ind.RawRowView(n), delta)
			}
			all = append(all, sel)
		}
	}
	if cfg.method == RandomNeurons {
		r := rand.New(rand.NewPCG(cfg.seed, 0x6e6575726f6e73))
		r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	} else {
		slices.SortStableFunc(all, func(x, y Selected) int { return cmp.Compare(math.Abs(y.By), math.Abs(x.By)) })
	}
	return all[:min(cfg.neurons, len(all))], nil
}

// classEmbeddings returns the unit embeddings of A and B (rows 0 and 1).
func classEmbeddings(m *clip.Model, p Pair, templates []string) (*clip.Classifier, error) {
	cls, err := m.NewClassifier([]string{p.A, p.B}, templates)
	if err != nil {
		return nil, fmt.Errorf("adversarial: %w", err)
	}
	return cls, nil
}

// mentions reports whether text contains w, case-insensitively, as the
// reference tests descriptions: "stars" and "starfish" mention "star".
func mentions(text, w string) bool {
	w = strings.ToLower(strings.TrimSpace(w))
	return w != "" && strings.Contains(strings.ToLower(text), w)
}

func firstMention(text string, ws []string) string {
	for _, w := range ws {
		if mentions(text, w) {
			return w
		}
	}
	return ""
}

// textCache holds unit text embeddings.
type textCache struct {
	m   *clip.Model
	emb map[string][]float64
}

func newTextCache(m *clip.Model) *textCache {
	return &textCache{m: m, emb: map[string][]float64{}}
}

func (c *textCache) add(texts []string) error {
	var todo []string
	for _, t := range texts {
		if _, ok := c.emb[t]; !ok && !slices.Contains(todo, t) {
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	e, err := c.m.EncodeText(todo)
	if err != nil {
		return fmt.Errorf("adversarial: %w", err)
	}
	for i, t := range todo {
		c.emb[t] = unit(toF64(e[i]))
	}
	return nil
}

func (c *textCache) get(t string) []float64 { return c.emb[t] }

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func unit(x []float64) []float64 {
	n := math.Sqrt(dot(x, x))
	if n > 0 {
		for i := range x {
			x[i] /= n
		}
	}
	return x
}

func cosine(a, b []float64) float64 {
	na, nb := math.Sqrt(dot(a, a)), math.Sqrt(dot(b, b))
	if na == 0 || nb == 0 {
		return 0
	}
	return dot(a, b) / (na * nb)
}

// Explain writes, for the best n words, the neurons and terms that produced
// them, then every kept neuron with its best terms: the trail from the pair
// to the words.
func (r *Mined) Explain(w io.Writer, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s: %d neurons, %d words, %d dropped\n", r.Pair, r.Method, len(r.Neurons), len(r.Words), len(r.Dropped))
	for _, wd := range r.Words[:min(n, len(r.Words))] {
		fmt.Fprintf(&b, "  %-24q score %+.3f  sim(A) %.2f", wd.Text, wd.Score, wd.Similarity)
		for k, s := range wd.Sources {
			if k == 3 {
				fmt.Fprintf(&b, " (+%d more)", len(wd.Sources)-3)
				break
			}
			fmt.Fprintf(&b, "  %s: %+.3f×%+.3f", s.Neuron, s.Coef, s.NeuronScore)
		}
		b.WriteByte('\n')
	}
	for _, d := range r.Dropped {
		fmt.Fprintf(&b, "  dropped %-16q %-9s sim(A) %.2f\n", d.Text, d.Reason, d.Similarity)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
