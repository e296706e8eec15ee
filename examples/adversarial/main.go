// Command adversarial mines semantic adversarial examples (METHOD.md §5) on
// the embedded shapes CLIP (internal/shapesmodel): it chooses class pairs
// tied by the world's deliberate spurious correlations
// ([adversarial.ShapesPairs]), compares the second-order words with three
// baselines (random neurons, neurons by indirect effect, words similar to
// A), prints the success table (mean ± std over seeds) and, per pair, the
// neurons and terms behind the best words, and writes every image, a
// contact sheet of the successful ones (sheet.png, sheet.txt) and
// table.md under -out.
//
//	go run ./examples/adversarial            # the full table: 5 pairs, 3 seeds, 100 images
//
// takes about 30 seconds on 2 cores (the lens over 1000 images, the indirect
// effects over 16 probe images, 6000 judged images).
//
// With a local language model (any OpenAI-compatible chat server) and an
// outside text-to-image model instead of the templates and the renderer,
// it takes two runs; the language model's answers are kept in
// <out>/descriptions.json, so both runs see the same descriptions:
//
//	go run ./examples/adversarial -chat http://127.0.0.1:8080/v1/chat/completions -describe-only
//	# render adversarial-out/prompts.csv into gen/, listing the files in gen/index.csv (description,file)
//	go run ./examples/adversarial -chat http://127.0.0.1:8080/v1/chat/completions -generated gen/
//
// # Settings for the small model
//
// The reference settings are for ViT-B/32 (d = 512, 3×3072 neurons in
// layers 8–10). This model has d = 64 and 3×384 neurons, so the defaults
// scale them: -terms 0 means d/4 terms per neuron (the reference's 128/512;
// more than d atoms would fit r_n exactly, with arbitrary coefficients),
// -neurons 0 keeps the reference's share of neurons (100 of 9216).
//
// The similarity filter is off by default here (-threshold 2, the
// blocklist route): the reference measures similarity to A with an
// independent sentence-embedding model, at 0.6, to drop synonyms of A. The
// only text model here is CLIP's own text tower, trained on the same
// captions, which puts the world's words at 0.6–0.96 of A and A's
// correlated concept among the most similar (sky at 0.92 of star, striped
// at 0.93 of diamond): its similarity measures the very co-occurrence the
// attack looks for, not synonymy. The world's vocabulary has no synonyms of
// a shape besides its plural and the phrases that hold it, which the
// target filter already drops; -blocklist adds more. Pass -threshold 0.6
// to apply the reference value anyway.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neuronlens/neuronlens/adversarial"
	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/lens"
)

type params struct {
	pairs                                string
	npairs, pairImages                   int
	seeds, images                        int
	analyze, k, probe                    int
	neurons, words, terms, explain, show int
	maxWords                             int
	ranked, describeOnly                 bool
	chat, chatModel, generated           string
	threshold                            float64
	blocklist, out, layers, norm         string
	shapesModel                          string
}

func main() {
	var p params
	flag.StringVar(&p.pairs, "pairs", "", "class pairs A:B, comma-separated (B depicted, passing for A); empty: choose -npairs by the world's correlations")
	flag.IntVar(&p.npairs, "npairs", 5, "pairs to choose when -pairs is empty")
	flag.IntVar(&p.pairImages, "pair-images", 50, "images per class pair and rate when choosing pairs")
	flag.IntVar(&p.seeds, "seeds", 3, "seeds per pair and method")
	flag.IntVar(&p.images, "images", 100, "images per pair, method and seed")
	flag.IntVar(&p.analyze, "analyze", 1000, "shapes images for the lens statistics")
	flag.IntVar(&p.k, "k", 20, "top images per neuron for the directions")
	flag.IntVar(&p.probe, "probe", 16, "probe images for the indirect-effect baseline (0: skip it)")
	flag.IntVar(&p.neurons, "neurons", 0, "neurons kept (0: the reference's share, 100 of 9216)")
	flag.IntVar(&p.words, "words", 50, "words kept")
	flag.IntVar(&p.maxWords, "max-words", 0, "most mined words per description (0: the template describer's default, 3)")
	flag.BoolVar(&p.ranked, "ranked", false, "draw the i-th mined word with weight 1/(i+1) (beyond the reference, whose language model gets the words as an unordered list)")
	flag.IntVar(&p.terms, "terms", 0, "terms per neuron (0: d/4, the reference's 128 of 512)")
	flag.Float64Var(&p.threshold, "threshold", 2, "drop words whose CLIP text similarity to A reaches this (above 1: off, the blocklist route; the reference uses 0.6 with a sentence-embedding model)")
	flag.StringVar(&p.blocklist, "blocklist", "", "synonyms of A to drop, comma-separated")
	flag.IntVar(&p.explain, "explain", 8, "words explained per pair")
	flag.IntVar(&p.show, "sheet", 8, "successful images per pair on the contact sheet, one per description (seed 0)")
	flag.StringVar(&p.layers, "layers", "", "vision blocks of the neurons, comma-separated (empty: the reference's 8, 9, 10 of 12, scaled)")
	flag.StringVar(&p.out, "out", "adversarial-out", "output folder")
	flag.StringVar(&p.chat, "chat", "", "describe with a language model at this OpenAI-compatible chat completions URL (e.g. http://127.0.0.1:8080/v1/chat/completions) instead of the templates; answers are kept in <out>/descriptions.json")
	flag.StringVar(&p.chatModel, "chat-model", "", "the \"model\" field sent with -chat")
	flag.StringVar(&p.generated, "generated", "", "judge images made by an outside text-to-image model: a folder with index.csv (description,file) instead of the shapes renderer")
	flag.BoolVar(&p.describeOnly, "describe-only", false, "stop after the descriptions: write <out>/prompts.csv (description,images,seed) for an outside text-to-image model, then run again with -generated")
	flag.StringVar(&p.shapesModel, "shapes-model", "", cli.ShapesModelUsage)
	flag.StringVar(&p.norm, "norm", "reference", "dictionary normalization of the text pool: reference (the reference's column scaling) or unit (unit texts)")
	flag.Parse()
	if err := run(p, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "adversarial:", err)
		os.Exit(1)
	}
}

func run(p params, w io.Writer) error {
	start := time.Now()
	ctx := context.Background()
	m, name, err := cli.ShapesModel(p.shapesModel)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Model: %s.\n\n", name)
	L := m.Config.Vision.Layers
	layers := []int{max(L-4, 0), max(L-3, 0), L - 2} // the reference's 8, 9, 10 of 12, scaled
	if p.layers != "" {
		layers = nil
		for _, s := range strings.Split(p.layers, ",") {
			var l int
			if _, err := fmt.Sscan(s, &l); err != nil {
				return fmt.Errorf("layer %q: %w", s, err)
			}
			layers = append(layers, l)
		}
	}
	norm, err := decompose.ParseNormalization(p.norm)
	if err != nil {
		return err
	}
	if p.terms <= 0 {
		p.terms = max(m.Config.EmbedDim/4, 1)
	}
	if p.neurons <= 0 {
		p.neurons = max((100*len(layers)*m.Config.Vision.MLPWidth+9216/2)/9216, 1)
	}
	opts := []adversarial.Option{adversarial.WithNeurons(p.neurons), adversarial.WithWords(p.words),
		adversarial.WithTerms(p.terms), adversarial.WithThreshold(p.threshold)}
	if p.blocklist != "" {
		opts = append(opts, adversarial.WithBlocklist(strings.Split(p.blocklist, ",")...))
	}

	var ps []adversarial.Pair
	concepts := map[adversarial.Pair]string{} // A's correlated concept, for chosen pairs
	if p.pairs == "" {
		cs, err := adversarial.ShapesPairs(ctx, m, p.npairs, p.pairImages, opts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Pairs chosen by the world's correlations (%d images per rate):\n\n", p.pairImages)
		fmt.Fprintln(w, "| pair (A ← B) | A's concept | P(A) for \"a B\" | with the concept | lift |\n|---|---|---|---|---|")
		for _, c := range cs {
			fmt.Fprintf(w, "| %s ← %s | %s | %.0f%% | %.0f%% | %+.0f |\n", c.A, c.B, c.Concept, 100*c.Base, 100*c.Oracle, 100*c.Lift)
			ps = append(ps, c.Pair)
			concepts[c.Pair] = c.Concept
		}
		fmt.Fprintln(w)
	} else {
		for _, s := range strings.Split(p.pairs, ",") {
			a, b, ok := strings.Cut(s, ":")
			if !ok {
				return fmt.Errorf("pair %q is not A:B", s)
			}
			ps = append(ps, adversarial.Pair{A: a, B: b})
		}
	}

	src := shapes.Dataset(1, p.analyze)
	res, err := lens.Analyze(ctx, m, lens.Generator(p.analyze, func(i int) (image.Image, error) { return src.At(i).Image, nil }),
		lens.WithLayers(layers...), lens.WithK(p.k))
	if err != nil {
		return err
	}
	dec, err := adversarial.NewTextDecomposer(ctx, m, shapes.Phrases(), norm)
	if err != nil {
		return err
	}
	methods := []adversarial.Method{adversarial.SecondOrder, adversarial.RandomNeurons, adversarial.SimilarWords}
	if p.probe > 0 {
		pr := shapes.HeldOut(2, p.probe)
		imgs := make([]image.Image, p.probe)
		for i := range imgs {
			imgs[i] = pr.At(i).Image
		}
		ie, err := adversarial.ComputeIndirect(ctx, m, imgs, layers)
		if err != nil {
			return err
		}
		opts = append(opts, adversarial.WithIndirect(ie))
		methods = adversarial.Methods()
	}
	seeds := make([]uint64, p.seeds)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	var desc adversarial.Describer = adversarial.TemplateDescriber{MaxWords: p.maxWords, Ranked: p.ranked}
	if p.chat != "" {
		desc = &adversarial.CachedDescriber{Path: filepath.Join(p.out, "descriptions.json"),
			Describer: &adversarial.ChatDescriber{Endpoint: p.chat, Model: p.chatModel, Temperature: 0.6, Vocabulary: shapes.Words()}}
	}
	pl := &adversarial.Pipeline{Model: m, Results: res, Decomposer: dec, Describer: desc,
		Images: p.images, Options: opts}
	if p.describeOnly {
		return writePrompts(ctx, w, pl, ps, methods, seeds, p.out)
	}
	if p.generated != "" {
		if pl.Generator, err = adversarial.OpenFolder(p.generated); err != nil {
			return err
		}
	}
	pl.Dir = p.out
	rep, err := pl.Run(ctx, ps, methods, seeds)
	if err != nil {
		return err
	}

	var table strings.Builder
	rep.Table(&table)
	draw := "drawn alike"
	if p.ranked {
		draw = "ranked"
	}
	fmt.Fprintf(w, "Layers %v, %d neurons, %d terms, %s dictionary, %d words (%s), threshold %g.\n\n%s\n", layers, p.neurons, p.terms, norm, p.words, draw, p.threshold, table.String())
	if len(concepts) > 0 {
		conceptRanks(w, rep, concepts)
	}
	var sheet []image.Image
	var captions []string
	for _, o := range rep.Outcomes {
		if o.Method != adversarial.SecondOrder || o.Seed != seeds[0] {
			continue
		}
		o.Mined.Explain(w, p.explain)
		fmt.Fprintln(w)
		k, shown := 0, map[string]bool{}
		for _, a := range o.Attempts {
			if a.Success && k < p.show && !shown[a.Description] {
				k++
				shown[a.Description] = true
				sheet = append(sheet, a.Image)
				captions = append(captions, fmt.Sprintf("%s: %s (%s; A %.3f, B %.3f)", o.Pair, a.Description, a.File, a.ScoreA, a.ScoreB))
			}
		}
	}
	if err := os.WriteFile(filepath.Join(p.out, "table.md"), []byte(table.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(p.out, "sheet.png"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := png.Encode(f, adversarial.ContactSheet(sheet, p.show, 64)); err != nil {
		return err
	}
	g, err := os.Create(filepath.Join(p.out, "sheet.txt"))
	if err != nil {
		return err
	}
	defer g.Close()
	if err := adversarial.WriteSheetIndex(g, captions); err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote %s (index.csv, sheet.png, sheet.txt, table.md) in %s.\n", p.out, time.Since(start).Round(time.Second))
	return nil
}

// conceptRanks prints, for each chosen pair and method, where the first
// kept word that names A's correlated concept ranks among the mined words
// (1 = best; "–": none does), one entry per seed when they differ: a
// measure of the mining alone, free of the describer's and the
// generator's draws.
func conceptRanks(w io.Writer, rep *adversarial.Report, concepts map[adversarial.Pair]string) {
	fmt.Fprint(w, "Rank of the first kept word naming A's concept (1 = best; –: none; per seed where they differ):\n\n")
	fmt.Fprint(w, "| pair (A ← B) | concept |")
	for _, me := range rep.Methods {
		fmt.Fprintf(w, " %s |", me)
	}
	fmt.Fprint(w, "\n|---|---|"+strings.Repeat("---|", len(rep.Methods))+"\n")
	for _, pr := range rep.Pairs {
		c, ok := concepts[pr]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "| %s ← %s | %s |", pr.A, pr.B, c)
		for _, me := range rep.Methods {
			var ranks []string
			for _, o := range rep.Outcomes {
				if o.Pair != pr || o.Method != me {
					continue
				}
				r := "–"
				for i, t := range o.Mined.Texts() {
					if strings.Contains(strings.ToLower(t), strings.ToLower(c)) {
						r = strconv.Itoa(i + 1)
						break
					}
				}
				ranks = append(ranks, r)
			}
			if len(ranks) > 0 && !slices.ContainsFunc(ranks, func(r string) bool { return r != ranks[0] }) {
				ranks = ranks[:1]
			}
			fmt.Fprintf(w, " %s |", strings.Join(ranks, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// writePrompts runs the pipeline up to the descriptions and writes
// <out>/prompts.csv, the to-do list of an outside text-to-image model.
func writePrompts(ctx context.Context, w io.Writer, pl *adversarial.Pipeline, ps []adversarial.Pair, methods []adversarial.Method, seeds []uint64, out string) error {
	plan, err := pl.Describe(ctx, ps, methods, seeds)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(out, "prompts.csv")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	prompts := plan.Prompts()
	if err := adversarial.WritePrompts(f, prompts, 4, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote %s: %d descriptions to render, 4 images each. List the images in a folder's index.csv (description,file) and run again with -generated <folder>.\n", path, len(prompts))
	return nil
}
