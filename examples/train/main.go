// Command train retrains neuronlens's small shapes CLIP from scratch: it
// learns the BPE vocabulary from the world's texts, trains with
// internal/train and writes the checkpoint, the vocabulary and a JSON
// report with the final held-out quality to -out.
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
	"github.com/neuronlens/neuronlens/internal/train"
)

func main() {
	def := train.DefaultConfig(0)
	out := flag.String("out", "shapes-model", "output directory")
	seed := flag.Uint64("seed", def.Seed, "seed of the weights, the world and the text choice")
	steps := flag.Int("steps", def.Steps, "optimizer steps")
	batch := flag.Int("batch", def.Batch, "image-text pairs per step")
	shards := flag.Int("shards", def.Shards, "fixed parts of a batch (the result depends on it)")
	lr := flag.Float64("lr", def.LR, "peak learning rate")
	warmup := flag.Int("warmup", def.Warmup, "warmup steps")
	evalEvery := flag.Int("eval", def.EvalEvery, "evaluate (and save) every this many steps")
	merges := flag.Int("merges", 2000, "most BPE merges")
	classWeight := flag.Float64("class", def.ClassWeight, "weight of the class-prompt loss (0: contrastive only)")
	promptFrac := flag.Float64("prompts", def.PromptFrac, "fraction of pairs whose text is a class prompt")
	flag.Parse()
	if err := run(*out, *seed, *steps, *batch, *shards, *lr, *warmup, *evalEvery, *merges, *classWeight, *promptFrac); err != nil {
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

func run(out string, seed uint64, steps, batch, shards int, lr float64, warmup, evalEvery, maxMerges int, classWeight, promptFrac float64) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	merges := train.LearnBPE(train.Texts(seed, 20000), maxMerges)
	var vocab bytes.Buffer
	if err := train.WriteBPE(&vocab, merges); err != nil {
		return err
	}
	tok, err := clip.ReadBPEMerges(bytes.NewReader(vocab.Bytes()), -1)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(vocab.Bytes())
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "vocab.txt.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	cfg := train.DefaultConfig(tok.VocabSize())
	cfg.Seed, cfg.Steps, cfg.Batch, cfg.Shards, cfg.LR, cfg.Warmup, cfg.EvalEvery = seed, steps, batch, shards, lr, warmup, evalEvery
	cfg.ClassWeight, cfg.PromptFrac = classWeight, promptFrac
	fmt.Printf("vocabulary: %d merges, %d ids; %d steps of %d pairs\n", len(merges), tok.VocabSize(), steps, batch)
	start := time.Now()
	m, err := train.Run(context.Background(), cfg, tok, func(p train.Progress) {
		fmt.Printf("step %4d/%d  loss %.4f  class %.4f  lr %.2e  scale %5.1f  |g| %6.3f  %6.0fs", p.Step, p.Steps, p.Loss, p.ClassLoss, p.LR, p.Scale, p.GradNorm, p.Elapsed.Seconds())
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
	q, err := train.Evaluate(context.Background(), m, shapes.HeldOut(seed, 300), 100)
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
	if err := os.WriteFile(filepath.Join(out, "shapes-clip.safetensors"), buf.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(report{Config: cfg, Merges: merges, Seconds: elapsed.Seconds(), Quality: q,
		Finished: time.Now().UTC().Format(time.RFC3339)}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "shapes-clip.json"), append(js, '\n'), 0o644)
}
