package table1

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
)

// ModelLine describes m in one line, with the training facts of report (a
// shapesmodel.Report() JSON) when it parses.
func ModelLine(m *clip.Model, report []byte) string {
	v := m.Config.Vision
	s := fmt.Sprintf("%d×%d images, patch %d, width %d, %d blocks, %d heads, MLP width %d, d = %d",
		v.ImageSize, v.ImageSize, v.PatchSize, v.Width, v.Layers, v.Heads, v.MLPWidth, m.Config.EmbedDim)
	var r struct {
		Config   struct{ Seed, Steps, Batch int }
		Quality  struct{ Accuracy float64 }
		Finished string
	}
	if json.Unmarshal(report, &r) == nil && r.Config.Steps > 0 {
		s += fmt.Sprintf("; trained %d steps × batch %d (seed %d, finished %s; held-out accuracy at training time %.1f%%)",
			r.Config.Steps, r.Config.Batch, r.Config.Seed, r.Finished, 100*r.Quality.Accuracy)
	}
	return s
}

// The paper's numbers (METHOD.md §2: ImageNet, OpenAI ViT-B/32, layer 9).
const (
	paperSecondAblated   = 29.6
	paperIndirectAblated = 52.3
	paperSecondPC1       = 48.2
	paperIndirectPC1     = 11.0
)

// Markdown writes the table beside the paper's numbers, the sizes of the
// run, and its timings. command is the command line that regenerates it.
func (t *Table) Markdown(command string) string {
	var b strings.Builder
	c := t.Config
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("Regenerate with `%s` (%v on this machine, %d workers).\n\n", command, t.Total.Round(time.Second), c.Workers)
	if t.Model != "" {
		p("Our model: %s.\n\n", t.Model)
	}
	p("| | paper: ImageNet, OpenAI ViT-B/32, layer 9 of 12 |")
	for _, r := range t.Rows {
		p(" ours: shapes world, shapes CLIP, layer %d of %d |", r.Layer, t.Blocks)
	}
	p("\n|---|---|%s\n", strings.Repeat("---|", len(t.Rows)))
	row := func(label, paper string, f func(r Row) string) {
		p("| %s | %s |", label, paper)
		for _, r := range t.Rows {
			p(" %s |", f(r))
		}
		p("\n")
	}
	acc := func(get func(r Row) float64) func(r Row) string {
		return func(r Row) string {
			v := get(r)
			return fmt.Sprintf("%.1f (%+.1f)", v, v-r.Ablation.Baseline)
		}
	}
	pc := func(get func(r Row) float64) func(r Row) string {
		return func(r Row) string { return fmt.Sprintf("%.1f%%", 100*get(r)) }
	}
	row("zero-shot top-1 accuracy, %: chance", "0.1 (1,000 classes)", func(Row) string { return fmt.Sprintf("%.1f (9 classes)", t.Chance) })
	row("(a) baseline", "not restated in METHOD.md", func(r Row) string { return fmt.Sprintf("%.1f", r.Ablation.Baseline) })
	row("(b) all second-order effects mean-ablated", fmt.Sprintf("**%.1f**", paperSecondAblated), acc(func(r Row) float64 { return r.Ablation.MeanAblated }))
	row("all indirect effects mean-ablated (every neuron of the layer → its per-token mean)", fmt.Sprintf("**%.1f**", paperIndirectAblated), acc(func(r Row) float64 { return r.LayerMeanAblated }))
	row("(c) only the significant second-order effects ablated", "(a) − about 30", acc(func(r Row) float64 { return r.Ablation.WithoutSignificant }))
	row("(d) only the insignificant ones ablated", "about (a)", acc(func(r Row) float64 { return r.Ablation.WithoutInsignificant }))
	row("(e) each effect replaced by its PC1 (rank-1) model", "about (a)", acc(func(r Row) float64 { return r.Ablation.RankOne }))
	row("variance explained by PC1: second-order, all neurons", fmt.Sprintf("**%.1f%%**", paperSecondPC1), pc(func(r Row) float64 { return r.SecondPC1 }))
	row("variance explained by PC1: second-order, matched subset †", "—", pc(func(r Row) float64 { return r.SecondPC1Matched }))
	row("variance explained by PC1: indirect, matched subset †", fmt.Sprintf("**%.1f%%**", paperIndirectPC1), pc(func(r Row) float64 { return r.IndirectPC1 }))
	p("| reference: the same statistic for the embeddings 100·f/‖f‖ themselves (%d accuracy images, k = %d) | — |", c.AccuracyImages, t.EmbeddingK)
	for range t.Rows {
		p(" %.1f%% |", 100*t.EmbeddingPC1)
	}
	p("\n")
	n := float64(c.AccuracyImages)
	base := 0.0
	if len(t.Rows) > 0 {
		base = t.Rows[0].Ablation.Baseline / 100
	}
	p("\nAccuracy cells: top-1 %% (change from (a) in points) on %d held-out images of world seed %d "+
		"(samples %d–%d of shapes.HeldOut, %d per class), classifier shapes.ClassNames × shapes.Templates; "+
		"one standard error at the baseline is ±%.1f points. ",
		c.AccuracyImages, c.Seed, c.StatsImages, c.StatsImages+c.AccuracyImages-1, c.AccuracyImages/shapes.NumShapes, 100*math.Sqrt(base*(1-base)/n))
	p("Second-order statistics (means, top-k, r_n) from the %d held-out images before them, k = %d (%.0f%%; the paper: 100 of 5,124). ",
		c.StatsImages, c.K, 100*float64(c.K)/float64(c.StatsImages))
	p("Indirect effects are mean-ablation effects, 100/‖f‖·(f − f_ablated), with the per-token means of the same %d images. ", c.StatsImages)
	p("PC1 share: per neuron, centre its effects by their dataset mean, keep the k images of largest centred norm, σ₁²/Σσ² of that k×d matrix; averaged over neurons.\n\n")
	which := "every neuron"
	if step := max(1, t.MLPWidth/c.IndirectNeurons); step > 1 {
		which = fmt.Sprintf("%d neurons per layer (every %dth: n = 0, %d, …)", c.IndirectNeurons, step, step)
	}
	p("† The indirect statistic costs a pass through the later blocks per image and neuron, so it is measured on %s "+
		"over the first %d statistics images with k = %d (%.0f%%); the second-order row marked † is the same "+
		"statistic on exactly those neurons, images and k, for a like-for-like comparison. With d = %d, a PC1 share cannot fall below 1/min(k, d) = %.1f%% "+
		"(the paper's floor: 1/100 = 1%%).\n\n",
		which, c.IndirectImages, c.IndirectK,
		100*float64(c.IndirectK)/float64(c.IndirectImages), t.Dim, 100/float64(min(c.IndirectK, t.Dim)))
	p("Timings (wall clock):\n\n| phase | time |\n|---|---|\n")
	for _, tm := range t.Timings {
		p("| %s | %v |\n", tm.Phase, tm.Time.Round(100*time.Millisecond))
	}
	p("| total | %v |\n", t.Total.Round(100*time.Millisecond))
	return b.String()
}
