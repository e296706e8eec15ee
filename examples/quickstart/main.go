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
	"encoding/json"
	"flag"
	"fmt"
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
	norm := flag.String("norm", "unit", "dictionary normalization: unit (centre, unit norm per text) or reference (the paper's per-dimension scaling, poor on a 163-text pool)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	nrm, err := decompose.ParseNormalization(*norm)
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(2)
	}
	if err := run(ctx, *n, *k, *terms, *show, *out, *seed, nrm); err != nil {
		fmt.Fprintln(os.Stderr, "\nquickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, k, nTerms, show int, out string, seed uint64, norm decompose.Normalization) error {
	start := time.Now()
	m, err := shapesmodel.Model()
	if err != nil {
		return err
	}
	var report struct {
		Quality struct{ Accuracy, R1 float64 }
	}
	if err := json.Unmarshal(shapesmodel.Report(), &report); err != nil {
		return err
	}
	v := m.Config.Vision
	fmt.Printf("model: the embedded shapes-world CLIP (%d×%d images, patch %d, width %d, %d blocks, d = %d), trained in Go;\n  its training-time check on 300 held-out images: zero-shot shape accuracy %.1f%%, image→caption R@1 %.1f%%\n",
		v.ImageSize, v.ImageSize, v.PatchSize, v.Width, v.Layers, m.Config.EmbedDim, 100*report.Quality.Accuracy, 100*report.Quality.R1)

	world := shapes.HeldOut(seed, n, shapes.WithSize(v.ImageSize, v.ImageSize))
	// The second-order effect of block l flows through the heads of blocks
	// l+1…; the last block has none, so analyse the two before it.
	cfg := groundtruth.Config{
		Layers: []int{v.Layers - 3, v.Layers - 2}, K: k, Terms: nTerms, Top: 3, Norm: norm,
		Criteria: groundtruth.Criteria{MinShare: 0.7, MinLift: 2, Concepts: groundtruth.ConceptWords()},
	}
	fmt.Printf("images: %d held-out images of the shapes world; Analyze on layers %v, top %d images per neuron\n", n, cfg.Layers, k)
	run, err := groundtruth.Describe(ctx, m, world, cfg, lens.WithProgress(cli.Bar(os.Stdout)))
	if err != nil {
		return err
	}
	res, sel, rec := run.Results, run.Selective, run.Recovery
	fmt.Printf("descriptions: every r_n as %d terms over the world's %d words and phrases\n\n", nTerms, len(run.Pool.Texts))
	fmt.Printf("%d neurons fire on top images that share one concept (≥ %.0f%% of them, ≥ %.0f× its base rate).\n",
		len(sel), 100*cfg.Criteria.MinShare, cfg.Criteria.MinLift)
	fmt.Printf("Their top 3 terms name that concept for %d of them (%.0f%%; chance %.0f%%).\n\n", rec.Named, 100*rec.Rate, 100*rec.Chance)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for i, s := range displayOrder(sel)[:min(show, len(sel))] {
		st := res.Layer(s.Layer)
		fmt.Printf("layer %d neuron %4d  top images: %-12s %3.0f%% (base %2.0f%%)  PC1 explains %2.0f%%\n",
			s.Layer, s.Neuron, s.Concept, 100*s.Share, 100*s.Base, 100*st.Explained[s.Neuron])
		fmt.Printf("    r_n ≈ %s\n", describe(run.Terms(s.Layer, s.Neuron), 5))
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
