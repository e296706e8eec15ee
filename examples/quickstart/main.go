// Command quickstart runs the second-order lens end to end on the embedded
// model: neuronlens's small CLIP trained on the shapes world, where every
// image comes with the concepts it shows. No download, no network.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -images 4000 -out quickstart/
//
// It renders held-out images, runs lens.Analyze on the late layers,
// decomposes each neuron's direction r_n over the world's words and
// phrases, prints the most selective neurons with their descriptions and
// the concept their top images share, and writes a picture per neuron:
// its top images, and where on them the neuron fires.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/internal/groundtruth"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/lens"
)

func main() {
	n := flag.Int("images", 2000, "held-out images of the shapes world to analyse")
	k := flag.Int("k", 40, "top images per neuron (the paper keeps 100 of 5,124, about 2%)")
	terms := flag.Int("terms", 8, "terms per neuron description")
	show := flag.Int("show", 8, "neurons to print and draw")
	out := flag.String("out", "quickstart", "folder for the pictures")
	seed := flag.Uint64("seed", 7, "seed of the held-out images")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *n, *k, *terms, *show, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "\nquickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, k, nTerms, show int, out string, seed uint64) error {
	start := time.Now()
	m, err := shapesmodel.Model()
	if err != nil {
		return err
	}
	v := m.Config.Vision
	fmt.Printf("model: the embedded shapes-world CLIP (%d×%d images, patch %d, width %d, %d blocks, d = %d), trained in Go\n",
		v.ImageSize, v.ImageSize, v.PatchSize, v.Width, v.Layers, m.Config.EmbedDim)

	world := shapes.HeldOut(seed, n, shapes.WithSize(v.ImageSize, v.ImageSize))
	concepts := make([][]string, n)
	for i := range concepts {
		concepts[i] = world.SceneAt(i).Concepts()
	}
	src := lens.Generator(n, func(i int) (image.Image, error) { return world.At(i).Image, nil })
	// The second-order effect of block l flows through the heads of blocks
	// l+1…; the last block has none, so analyse the two before it.
	layers := []int{v.Layers - 3, v.Layers - 2}
	fmt.Printf("images: %d held-out images of the shapes world; Analyze on layers %v, top %d images per neuron\n", n, layers, k)
	res, err := lens.Analyze(ctx, m, src, lens.WithLayers(layers...), lens.WithK(k), lens.WithProgress(cli.Bar(os.Stdout)))
	if err != nil {
		return err
	}

	pool := &decompose.Pool{Texts: shapes.Phrases()}
	emb, err := decompose.Embed(ctx, m, pool)
	if err != nil {
		return err
	}
	dict, err := decompose.NewDictionary(emb, decompose.Reference)
	if err != nil {
		return err
	}
	descs := map[int]*decompose.Descriptions{}
	for _, l := range layers {
		if descs[l], err = decompose.DecomposeNeurons(ctx, dict, res.Layer(l), nTerms); err != nil {
			return err
		}
	}
	fmt.Printf("descriptions: every r_n as %d terms over the world's %d words and phrases\n\n", nTerms, len(pool.Texts))

	crit := groundtruth.Criteria{MinShare: 0.7, MinLift: 2, Concepts: conceptWords()}
	var sel []groundtruth.Selective
	for _, l := range layers {
		sel = append(sel, groundtruth.SelectiveNeurons(res.Layer(l), concepts, crit)...)
	}
	termsOf := func(l, n int) []decompose.Term { return descs[l].Neurons[n].Terms }
	rec := groundtruth.Score(sel, termsOf, 3)
	fmt.Printf("%d neurons fire on top images that share one concept (≥ %.0f%% of them, ≥ %.0f× its base rate).\n",
		len(sel), 100*crit.MinShare, crit.MinLift)
	fmt.Printf("Their top 3 terms name that concept for %d of them (%.0f%%; chance %.0f%%).\n\n", rec.Named, 100*rec.Rate, 100*rec.Chance)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for i, s := range displayOrder(sel)[:min(show, len(sel))] {
		st := res.Layer(s.Layer)
		fmt.Printf("layer %d neuron %4d  top images: %-12s %3.0f%% (base %2.0f%%)  PC1 explains %2.0f%%\n",
			s.Layer, s.Neuron, s.Concept, 100*s.Share, 100*s.Base, 100*st.Explained[s.Neuron])
		fmt.Printf("    r_n ≈ %s\n", describe(termsOf(s.Layer, s.Neuron), 5))
		path := filepath.Join(out, fmt.Sprintf("%02d_layer%d_neuron%d.png", i+1, s.Layer, s.Neuron))
		top := st.Top[s.Neuron*st.K : s.Neuron*st.K+min(8, st.K)]
		if err := drawNeuron(path, m, world, s.Layer, s.Neuron, top); err != nil {
			return err
		}
	}
	fmt.Printf("\npictures (top images, and where the neuron fires on them): %s/\n", out)
	fmt.Printf("done in %v\n", time.Since(start).Round(time.Second))
	return nil
}

// conceptWords are the concepts a neuron may be selective for: shapes,
// colours and backgrounds (sizes and counts are in nearly every image).
func conceptWords() []string {
	var out []string
	for _, w := range shapes.Words() {
		switch w {
		case "large", "small", "one", "two", "three":
			continue
		}
		out = append(out, w)
	}
	return out
}

func describe(ts []decompose.Term, n int) string {
	var b strings.Builder
	for i, t := range ts[:min(n, len(ts))] {
		sign := "+"
		if t.Coef < 0 {
			sign = "−"
		}
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%s %.2g %q", sign, abs(t.Coef), t.Text)
	}
	return b.String()
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
