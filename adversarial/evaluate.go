package adversarial

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/lens"
)

// Judge is the binary zero-shot test of METHOD.md §5, step 6: an image
// succeeds when CLIP prefers A over B, cos(f(I), e(A)) > cos(f(I), e(B)),
// with e the unit class embeddings of the raw names (or of [WithTemplates]).
type Judge struct {
	m   *clip.Model
	cls *clip.Classifier
}

// NewJudge embeds the pair's class names. Options: [WithTemplates].
func NewJudge(m *clip.Model, p Pair, opts ...Option) (*Judge, error) {
	cls, err := classEmbeddings(m, p, newConfig(opts).templates)
	if err != nil {
		return nil, err
	}
	return &Judge{m: m, cls: cls}, nil
}

// Score returns the cosine similarities of each image to A and to B, [n]
// each. ctx cancels between images.
func (j *Judge) Score(ctx context.Context, imgs []image.Image) (a, b []float64, err error) {
	embs, err := j.m.EncodeImages(ctx, imgs)
	if err != nil {
		return nil, nil, fmt.Errorf("adversarial: %w", err)
	}
	a, b = make([]float64, len(imgs)), make([]float64, len(imgs))
	for i, e := range embs {
		s := j.cls.Scores(e)
		a[i], b[i] = float64(s[0]), float64(s[1])
	}
	return a, b, nil
}

// Pipeline runs the whole attack: [Mine], a [Describer], a [Generator] and
// the [Judge], for several pairs, methods and seeds.
type Pipeline struct {
	Model      *clip.Model
	Results    *lens.Results // the lens directions (not needed for SimilarWords alone)
	Decomposer Decomposer
	Describer  Describer // nil: TemplateDescriber{}
	Generator  Generator // nil: ShapesGenerator{}
	// Images is the budget per pair, method and seed (0: 100), made of
	// descriptions of PerDescription images each (0: 4, the reference's
	// batch); descriptions are reused in turn if the describer gives too
	// few valid ones.
	Images, PerDescription int
	// Dir, if set, receives every image, its description and its scores
	// (see [Report.Write]) while the pipeline runs.
	Dir string
	// Options apply to every Mine call; WithMethod and WithSeed are set per
	// run.
	Options []Option
}

// Attempt is one generated image and its verdict.
type Attempt struct {
	Description string
	File        string  // path relative to Pipeline.Dir, "" when not written
	ScoreA      float64 // cos(f(I), e(A))
	ScoreB      float64 // cos(f(I), e(B))
	Success     bool    // ScoreA > ScoreB
	Image       image.Image
}

// Outcome is one run: a pair, a method, a seed.
type Outcome struct {
	Pair         Pair
	Method       Method
	Seed         uint64
	Mined        *Mined
	Descriptions []string  // valid descriptions, in the order used
	Rejected     []string  // descriptions without B or with an avoided word
	Attempts     []Attempt // exactly the image budget
}

// Rate returns the fraction of successful attempts.
func (o *Outcome) Rate() float64 {
	if len(o.Attempts) == 0 {
		return 0
	}
	n := 0
	for _, a := range o.Attempts {
		if a.Success {
			n++
		}
	}
	return float64(n) / float64(len(o.Attempts))
}

// ErrNoDescriptions is returned, wrapped, when a describer gives no valid
// description.
var ErrNoDescriptions = errors.New("adversarial: no valid description")

func (p *Pipeline) defaults() (Describer, Generator, int, int) {
	d, g := p.Describer, p.Generator
	if d == nil {
		d = TemplateDescriber{}
	}
	if g == nil {
		g = ShapesGenerator{}
	}
	imgs, per := p.Images, p.PerDescription
	if imgs <= 0 {
		imgs = 100
	}
	if per <= 0 {
		per = 4
	}
	return d, g, imgs, per
}

// Attack mines words for the pair with the method and seed, describes,
// generates and judges exactly Images images. Attempts keep the image
// only when it succeeded. Errors: those of Mine, the describer and the
// generator, no valid description, a generator that returns no image,
// a write error under Dir.
func (p *Pipeline) Attack(ctx context.Context, pair Pair, method Method, seed uint64) (*Outcome, error) {
	opts := append(slices.Clone(p.Options), WithMethod(method), WithSeed(seed))
	mined, err := Mine(ctx, p.Model, p.Results, p.Decomposer, pair, opts...)
	if err != nil {
		return nil, err
	}
	return p.attack(ctx, mined, seed)
}

// describe asks the describer for descriptions of the mined words with the
// seed and sorts them into valid and rejected ones.
func (p *Pipeline) describe(ctx context.Context, mined *Mined, seed uint64) (*Outcome, error) {
	desc, _, budget, per := p.defaults()
	cfg := newConfig(p.Options)
	pair := mined.Pair
	o := &Outcome{Pair: pair, Method: mined.Method, Seed: seed, Mined: mined}
	avoid := append([]string{pair.A}, cfg.blocklist...)
	ds, err := desc.Describe(ctx, Request{
		Depict: pair.B, Avoid: avoid, Words: mined.Texts(), N: (budget + per - 1) / per, Seed: seed,
	})
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if Valid(d, pair.B, avoid) {
			o.Descriptions = append(o.Descriptions, d)
		} else {
			o.Rejected = append(o.Rejected, d)
		}
	}
	if len(o.Descriptions) == 0 {
		return nil, fmt.Errorf("%w: %s, %s, seed %d (%d rejected)", ErrNoDescriptions, pair, mined.Method, seed, len(o.Rejected))
	}
	return o, nil
}

func (p *Pipeline) attack(ctx context.Context, mined *Mined, seed uint64) (*Outcome, error) {
	_, gen, budget, per := p.defaults()
	cfg := newConfig(p.Options)
	pair := mined.Pair
	o, err := p.describe(ctx, mined, seed)
	if err != nil {
		return nil, err
	}
	judge := &Judge{m: p.Model}
	if judge.cls, err = classEmbeddings(p.Model, pair, cfg.templates); err != nil {
		return nil, err
	}
	sub := filepath.Join(slug(pair.A)+"_"+slug(pair.B), mined.Method.String(), fmt.Sprintf("seed%d", seed))
	if p.Dir != "" {
		if err := os.MkdirAll(filepath.Join(p.Dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("adversarial: %w", err)
		}
	}
	for j := 0; len(o.Attempts) < budget; j++ {
		d := o.Descriptions[j%len(o.Descriptions)]
		n := min(per, budget-len(o.Attempts))
		imgs, err := gen.Generate(ctx, d, n, seed<<20+uint64(j*per))
		if err != nil {
			return nil, err
		}
		if len(imgs) == 0 {
			return nil, fmt.Errorf("adversarial: generator gave no image for %q", d)
		}
		imgs = imgs[:min(len(imgs), n)]
		sa, sb, err := judge.Score(ctx, imgs)
		if err != nil {
			return nil, err
		}
		for k, img := range imgs {
			a := Attempt{Description: d, ScoreA: sa[k], ScoreB: sb[k], Success: sa[k] > sb[k]}
			if p.Dir != "" {
				a.File = filepath.ToSlash(filepath.Join(sub, fmt.Sprintf("%03d.png", len(o.Attempts))))
				if err := writePNG(filepath.Join(p.Dir, a.File), img); err != nil {
					return nil, err
				}
			}
			if a.Success {
				a.Image = img
			}
			o.Attempts = append(o.Attempts, a)
		}
	}
	if p.Dir != "" {
		f, err := os.Create(filepath.Join(p.Dir, sub, "words.txt"))
		if err != nil {
			return nil, fmt.Errorf("adversarial: %w", err)
		}
		err = mined.Explain(f, len(mined.Words))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("adversarial: %w", err)
		}
	}
	return o, nil
}

// Run attacks every pair with every method and seed, in that nesting
// order. Methods that do not depend on the seed (all but RandomNeurons) are
// mined once per pair. With Dir set, index.csv is written at the end
// ([Report.Write]).
func (p *Pipeline) Run(ctx context.Context, pairs []Pair, methods []Method, seeds []uint64) (*Report, error) {
	r, err := p.each(ctx, pairs, methods, seeds, p.attack)
	if err != nil {
		return nil, err
	}
	if p.Dir != "" {
		if err := r.Write(p.Dir); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Describe does what Run does up to the descriptions, without generating
// or judging an image: its outcomes hold Mined, Descriptions and Rejected,
// no Attempts. It is the first half of an attack with images from an
// outside text-to-image model: write [Report.Prompts] with [WritePrompts],
// render them, list the files in an index.csv, then Run with a
// [FolderGenerator] over them. The describer must answer the second run as
// it answered the first; wrap one that may not (a language model) in a
// [CachedDescriber].
func (p *Pipeline) Describe(ctx context.Context, pairs []Pair, methods []Method, seeds []uint64) (*Report, error) {
	return p.each(ctx, pairs, methods, seeds, p.describe)
}

// each runs step for every pair, method and seed, mining as Run does.
func (p *Pipeline) each(ctx context.Context, pairs []Pair, methods []Method, seeds []uint64, step func(context.Context, *Mined, uint64) (*Outcome, error)) (*Report, error) {
	if len(pairs) == 0 || len(methods) == 0 || len(seeds) == 0 {
		return nil, errors.New("adversarial: no pairs, methods or seeds")
	}
	r := &Report{Pairs: slices.Clone(pairs), Methods: slices.Clone(methods), Seeds: slices.Clone(seeds)}
	for _, pair := range pairs {
		for _, meth := range methods {
			var mined *Mined
			for _, seed := range seeds {
				if mined == nil || meth == RandomNeurons {
					opts := append(slices.Clone(p.Options), WithMethod(meth), WithSeed(seed))
					var err error
					if mined, err = Mine(ctx, p.Model, p.Results, p.Decomposer, pair, opts...); err != nil {
						return nil, err
					}
				}
				o, err := step(ctx, mined, seed)
				if err != nil {
					return nil, err
				}
				r.Outcomes = append(r.Outcomes, o)
			}
		}
	}
	return r, nil
}

// Prompts returns the distinct descriptions of every outcome, in order of
// first use: what an outside text-to-image model must render.
func (r *Report) Prompts() []string {
	var out []string
	seen := map[string]bool{}
	for _, o := range r.Outcomes {
		for _, d := range o.Descriptions {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// Report holds the outcomes of [Pipeline.Run].
type Report struct {
	Pairs    []Pair
	Methods  []Method
	Seeds    []uint64
	Outcomes []*Outcome
}

// Rate returns the mean and the sample standard deviation (n−1; 0 for one
// seed) over seeds of the success rate of the pair and method, as
// fractions, and the number of seeds found.
func (r *Report) Rate(p Pair, m Method) (mean, std float64, n int) {
	var xs []float64
	for _, o := range r.Outcomes {
		if o.Pair == p && o.Method == m {
			xs = append(xs, o.Rate())
		}
	}
	if len(xs) == 0 {
		return 0, 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) > 1 {
		for _, x := range xs {
			std += (x - mean) * (x - mean)
		}
		std = math.Sqrt(std / float64(len(xs)-1))
	}
	return mean, std, len(xs)
}

// Beats reports whether SecondOrder's mean success rate on the pair is
// strictly above every other method's.
func (r *Report) Beats(p Pair) bool {
	ours, _, n := r.Rate(p, SecondOrder)
	if n == 0 {
		return false
	}
	for _, m := range r.Methods {
		if m == SecondOrder {
			continue
		}
		if x, _, k := r.Rate(p, m); k > 0 && x >= ours {
			return false
		}
	}
	return true
}

// Table writes a Markdown table: one row per pair, one column per method,
// success rates in percent as mean ± std over seeds, and whether
// SecondOrder beats every other method.
func (r *Report) Table(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| pair (A ← B) |")
	for _, m := range r.Methods {
		fmt.Fprintf(&b, " %s |", m)
	}
	b.WriteString(" ours best |\n|---|")
	for range r.Methods {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	wins := 0
	for _, p := range r.Pairs {
		fmt.Fprintf(&b, "| %s ← %s |", p.A, p.B)
		for _, m := range r.Methods {
			mean, std, _ := r.Rate(p, m)
			fmt.Fprintf(&b, " %.1f ± %.1f |", 100*mean, 100*std)
		}
		mark := "no"
		if r.Beats(p) {
			mark = "yes"
			wins++
		}
		fmt.Fprintf(&b, " %s |\n", mark)
	}
	per := 0
	if len(r.Outcomes) > 0 {
		per = len(r.Outcomes[0].Attempts)
	}
	fmt.Fprintf(&b, "\nSuccess rate (%%), mean ± std over %d seeds, %d images per pair, method and seed; ours best on %d of %d pairs.\n",
		len(r.Seeds), per, wins, len(r.Pairs))
	_, err := io.WriteString(w, b.String())
	return err
}

// Write writes dir/index.csv, one row per attempt: a, b, method, seed,
// image (relative to dir; empty when the pipeline had no Dir), description,
// score_a, score_b, success (0 or 1).
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("adversarial: %w", err)
	}
	path := filepath.Join(dir, "index.csv")
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("adversarial: %w", err)
	}
	cw := csv.NewWriter(f)
	cw.Write([]string{"a", "b", "method", "seed", "image", "description", "score_a", "score_b", "success"})
	for _, o := range r.Outcomes {
		for _, a := range o.Attempts {
			s := "0"
			if a.Success {
				s = "1"
			}
			cw.Write([]string{o.Pair.A, o.Pair.B, o.Method.String(), fmt.Sprint(o.Seed), a.File, a.Description,
				fmt.Sprintf("%.6f", a.ScoreA), fmt.Sprintf("%.6f", a.ScoreB), s})
		}
	}
	cw.Flush()
	err = cw.Error()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("adversarial: %s: %w", path, err)
	}
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("adversarial: %w", err)
	}
	err = png.Encode(f, img)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("adversarial: %s: %w", path, err)
	}
	return nil
}

// slug keeps letters and digits and turns everything else into '-'.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, s)
}
