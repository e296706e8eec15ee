// Package cli holds what the example programs share: choosing a model from
// flags (a checkpoint, a random model or a shapes-world model) and drawing a
// progress bar.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/lens"
)

// ShapesModelUsage documents the -shapes-model flag of the examples that
// run on the shapes world.
const ShapesModelUsage = "shapes world: a model retrained by examples/train (its -out folder) instead of the embedded one"

// ShapesModel returns the embedded shapes CLIP when dir is empty, else the
// one examples/train wrote to dir, with words naming it for a report.
func ShapesModel(dir string) (*clip.Model, string, error) {
	if dir == "" {
		m, err := shapesmodel.Model()
		return m, "the embedded shapes CLIP", err
	}
	m, err := shapesmodel.Load(dir)
	if err != nil {
		return nil, "", fmt.Errorf("-shapes-model: %w", err)
	}
	return m, "the shapes CLIP in " + dir, nil
}

// Model loads the checkpoint at path, or, when random is "b32" or "small",
// builds a random model with seed 1 and says so on w.
func Model(w io.Writer, path, vocab, random string) (*clip.Model, error) {
	switch random {
	case "":
	case "b32", "small":
		cfg := clip.ViTB32()
		if random == "small" {
			cfg = clip.Config{EmbedDim: 64, Activation: clip.QuickGELU,
				Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 32, Width: 128, Layers: 12, Heads: 4, MLPWidth: 512}}
		}
		m, err := clip.New(cfg)
		if err != nil {
			return nil, err
		}
		m.InitRandom(1)
		fmt.Fprintf(w, "note: using a random %s model (seed 1), not a checkpoint: the numbers mean nothing\n", random)
		return m, nil
	default:
		return nil, fmt.Errorf("-random %q: want b32 or small", random)
	}
	if path == "" {
		return nil, errors.New("no model: give -model path or -random b32|small")
	}
	var opts []clip.Option
	if vocab != "" {
		opts = append(opts, clip.WithVocab(vocab))
	}
	return clip.Load(path, opts...)
}

// Bar returns a lens.Progress that redraws one line on w.
func Bar(w io.Writer) lens.Progress {
	return func(p lens.ProgressReport) {
		const width = 30
		filled := width * p.Done / max(p.Total, 1)
		fmt.Fprintf(w, "\r%-10s [%s%s] %d/%d  %.2f/s  %v left   ", p.Phase,
			strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			p.Done, p.Total, p.PerSecond, p.Left.Round(time.Second))
		if p.Done == p.Total {
			fmt.Fprintln(w)
		}
	}
}
