// Command train retrains neuronlens's small shapes CLIP from scratch: it
// learns the BPE vocabulary from the world's texts, trains with
// internal/train and writes the checkpoint, the vocabulary and a JSON
// report with the final held-out quality to -out.
//
//	go run ./examples/train                  # the shipped model, 8,000 steps (about 16 minutes on 2 cores)
//	go run ./examples/train -vision-width 128 -vision-layers 6 -text-width 128 -text-layers 4 \
//	    -embed-dim 128 -out shapes-b6        # a bigger one (about 46 minutes)
//
// The architecture flags keep each MLP 4× its tower's width. The examples
// that run on the shapes world read a trained folder with -shapes-model
// (examples/segment, examples/adversarial).
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/internal/train"
)

func main() {
	cfg := train.DefaultConfig(0)
	v, tx := cfg.Model.Vision, cfg.Model.Text
	out := flag.String("out", "shapes-model", "output directory")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the weights, the world and the text choice")
	flag.IntVar(&cfg.Steps, "steps", cfg.Steps, "optimizer steps")
	flag.IntVar(&cfg.Batch, "batch", cfg.Batch, "image-text pairs per step")
	flag.IntVar(&cfg.Shards, "shards", cfg.Shards, "fixed parts of a batch (the result depends on it)")
	flag.Float64Var(&cfg.LR, "lr", cfg.LR, "peak learning rate")
	flag.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "warmup steps")
	flag.IntVar(&cfg.EvalEvery, "eval", cfg.EvalEvery, "evaluate (and save) every this many steps")
	merges := flag.Int("merges", 2000, "most BPE merges")
	flag.Float64Var(&cfg.ClassWeight, "class", cfg.ClassWeight, "weight of the class-prompt loss (0: contrastive only)")
	flag.Float64Var(&cfg.ProbeWeight, "probe", cfg.ProbeWeight, "weight of the shape-probe loss on decorrelated images (0: off)")
	flag.Float64Var(&cfg.PromptFrac, "prompts", cfg.PromptFrac, "fraction of pairs whose text is a class prompt")
	flag.IntVar(&v.Width, "vision-width", v.Width, "image tower width (its MLPs are 4× as wide)")
	flag.IntVar(&v.Layers, "vision-layers", v.Layers, "image tower blocks")
	flag.IntVar(&v.Heads, "vision-heads", v.Heads, "image tower attention heads")
	flag.IntVar(&tx.Width, "text-width", tx.Width, "text tower width (its MLPs are 4× as wide)")
	flag.IntVar(&tx.Layers, "text-layers", tx.Layers, "text tower blocks")
	flag.IntVar(&tx.Heads, "text-heads", tx.Heads, "text tower attention heads")
	flag.IntVar(&cfg.Model.EmbedDim, "embed-dim", cfg.Model.EmbedDim, "joint embedding dimension d")
	flag.Parse()
	v.MLPWidth, tx.MLPWidth = 4*v.Width, 4*tx.Width
	if err := run(*out, cfg, *merges); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

// report is the JSON written beside the model.
type report struct {
	Config   train.Config
	Merges   int
	Seconds  float64
	Quality  train.Quality
	Finished string
}

func run(out string, cfg train.Config, maxMerges int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	merges := train.LearnBPE(train.Texts(cfg.Seed, 20000), maxMerges)
	var vocab bytes.Buffer
	if err := train.WriteBPE(&vocab, merges); err != nil {
		return err
	}
	tok, err := clip.ReadBPEMerges(bytes.NewReader(vocab.Bytes()), -1)
	if err != nil {
		return err
	}
	cfg.Model.Text.VocabSize = tok.VocabSize()
	if err := cfg.Validate(); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(vocab.Bytes())
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, shapesmodel.VocabFile), gz.Bytes(), 0o644); err != nil {
		return err
	}
	steps := cfg.Steps
	fmt.Printf("vocabulary: %d merges, %d ids; %d steps of %d pairs\n", len(merges), tok.VocabSize(), steps, cfg.Batch)
	start := time.Now()
	m, err := train.Run(context.Background(), cfg, tok, func(p train.Progress) {
		fmt.Printf("step %4d/%d  loss %.4f  class %.4f  probe %.4f  lr %.2e  scale %5.1f  |g| %6.3f  %6.0fs", p.Step, p.Steps, p.Loss, p.ClassLoss, p.ProbeLoss, p.LR, p.Scale, p.GradNorm, p.Elapsed.Seconds())
		if q := p.Quality; q != nil {
			fmt.Printf("  zero-shot %.1f%%  R@1 %.1f%%", 100*q.Accuracy, 100*q.R1)
			if err := save(out, p.Model, cfg, len(merges), p.Elapsed, *q); err != nil {
				fmt.Printf("  (save: %v)", err)
			}
		}
		fmt.Println()
	})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	q, err := train.Evaluate(context.Background(), m, shapes.HeldOut(cfg.Seed, 300), 100)
	if err != nil {
		return err
	}
	if err := save(out, m, cfg, len(merges), elapsed, q); err != nil {
		return err
	}
	fmt.Printf("done in %.0fs: zero-shot accuracy %.1f%%, R@1 %.1f%% (held out, %d images, batches of %d)\n",
		elapsed.Seconds(), 100*q.Accuracy, 100*q.R1, q.Images, q.Batch)
	return nil
}

// save writes the checkpoint and the report.
func save(out string, m *clip.Model, cfg train.Config, merges int, elapsed time.Duration, q train.Quality) error {
	var buf bytes.Buffer
	if err := train.Save(&buf, m, nil); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, shapesmodel.CheckpointFile), buf.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(report{Config: cfg, Merges: merges, Seconds: elapsed.Seconds(), Quality: q,
		Finished: time.Now().UTC().Format(time.RFC3339)}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, shapesmodel.ReportFile), append(js, '\n'), 0o644)
}
