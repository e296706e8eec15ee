//go:build shapesmodel

// Built only with -tags shapesmodel until branch train (internal/shapesmodel) is merged; then drop this tag.

// Command adversarial mines semantic adversarial examples (METHOD.md §5) on
// the embedded shapes CLIP: for class pairs tied by the world's deliberate
// spurious correlations it compares the second-order words with three
// baselines and prints the success table.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/neuronlens/neuronlens/adversarial"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/lens"
)

func main() {
	var (
		pairs   = flag.String("pairs", "star:moon,ring:circle,heart:diamond,triangle:moon,diamond:square", "class pairs A:B (B depicted, passing for A)")
		seeds   = flag.Int("seeds", 3, "seeds per pair and method")
		images  = flag.Int("images", 100, "images per pair, method and seed")
		nimg    = flag.Int("analyze", 1000, "shapes images for the lens statistics")
		k       = flag.Int("k", 20, "top images per neuron for the directions")
		probe   = flag.Int("probe", 16, "probe images for the indirect-effect baseline (0: skip it)")
		neurons = flag.Int("neurons", 100, "neurons kept")
		words   = flag.Int("words", 50, "words kept")
		thresh  = flag.Float64("threshold", 0.6, "drop words with this CLIP text similarity to A")
		out     = flag.String("out", "adversarial-out", "output folder")
	)
	flag.Parse()
	if err := run(*pairs, *seeds, *images, *nimg, *k, *probe, *neurons, *words, *thresh, *out); err != nil {
		fmt.Fprintln(os.Stderr, "adversarial:", err)
		os.Exit(1)
	}
}

func run(pairList string, nseeds, images, nimg, k, probe, neurons, words int, thresh float64, out string) error {
	ctx := context.Background()
	m, err := shapesmodel.Model()
	if err != nil {
		return err
	}
	L := m.Config.Vision.Layers
	layers := []int{max(L-4, 0), max(L-3, 0), L - 2} // the paper's 8, 9, 10 of 12, scaled
	src := shapes.Dataset(1, nimg)
	res, err := lens.Analyze(ctx, m, lens.Generator(nimg, func(i int) (image.Image, error) { return src.At(i).Image, nil }),
		lens.WithLayers(layers...), lens.WithK(k))
	if err != nil {
		return err
	}
	dec, err := adversarial.NewTextDecomposer(ctx, m, shapes.Phrases())
	if err != nil {
		return err
	}
	methods := []adversarial.Method{adversarial.SecondOrder, adversarial.RandomNeurons, adversarial.SimilarWords}
	opts := []adversarial.Option{adversarial.WithNeurons(neurons), adversarial.WithWords(words), adversarial.WithThreshold(thresh)}
	if probe > 0 {
		p := shapes.HeldOut(2, probe)
		imgs := make([]image.Image, probe)
		for i := range imgs {
			imgs[i] = p.At(i).Image
		}
		ie, err := adversarial.ComputeIndirect(ctx, m, imgs, layers)
		if err != nil {
			return err
		}
		opts = append(opts, adversarial.WithIndirect(ie))
		methods = append(methods[:2], adversarial.IndirectNeurons, adversarial.SimilarWords)
	}
	var ps []adversarial.Pair
	for _, s := range strings.Split(pairList, ",") {
		a, b, ok := strings.Cut(s, ":")
		if !ok {
			return fmt.Errorf("pair %q is not A:B", s)
		}
		ps = append(ps, adversarial.Pair{A: a, B: b})
	}
	seeds := make([]uint64, nseeds)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	p := &adversarial.Pipeline{Model: m, Results: res, Decomposer: dec, Images: images, Dir: out, Options: opts}
	rep, err := p.Run(ctx, ps, methods, seeds)
	if err != nil {
		return err
	}
	var sheet []image.Image
	var captions []string
	for _, o := range rep.Outcomes {
		if o.Method != adversarial.SecondOrder {
			continue
		}
		if o.Seed == 0 {
			fmt.Println()
			o.Mined.Explain(os.Stdout, 10)
		}
		for _, a := range o.Attempts {
			if a.Success && len(sheet) < 200 {
				sheet = append(sheet, a.Image)
				captions = append(captions, fmt.Sprintf("%s: %s (%s)", o.Pair, a.Description, a.File))
			}
		}
	}
	fmt.Println()
	rep.Table(os.Stdout)
	f, err := os.Create(filepath.Join(out, "sheet.png"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := png.Encode(f, adversarial.ContactSheet(sheet, 10, 64)); err != nil {
		return err
	}
	g, err := os.Create(filepath.Join(out, "sheet.txt"))
	if err != nil {
		return err
	}
	defer g.Close()
	return adversarial.WriteSheetIndex(g, captions)
}
