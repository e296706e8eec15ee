// Command analyze runs lens.Analyze over a folder of images and writes the
// per-neuron statistics (.npy files plus index.json) to a folder.
//
//	go run ./examples/analyze -model ViT-B-32.pt -images imagenet_sub/ -layers 8,9,10 -out stats/
//	go run ./examples/analyze -random small -images photos/ -layers 9 -k 10
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/lens"
)

func main() {
	var (
		model   = flag.String("model", "", "CLIP checkpoint (any format clip.Load reads)")
		vocab   = flag.String("vocab", "", "tokenizer vocabulary (not needed for the image statistics)")
		random  = flag.String("random", "", "use a random model instead: b32 (ViT-B/32 shape) or small")
		images  = flag.String("images", "", "folder of images (.jpg, .png, .gif), searched recursively")
		layers  = flag.String("layers", "9", "comma-separated MLP blocks to analyse")
		k       = flag.Int("k", 100, "top images kept per neuron")
		out     = flag.String("out", "stats", "output folder")
		cache   = flag.String("cache", "", "alpha cache folder; rerun with the same one to resume (default: temporary)")
		workers = flag.Int("workers", 0, "parallel workers (0: all cores)")
		memMiB  = flag.Int64("memlimit", 1792, "soft memory limit for the Go runtime in MiB (0: none); keeps peak RSS near the live heap")
	)
	flag.Parse()
	if *memMiB > 0 {
		debug.SetMemoryLimit(*memMiB << 20)
	}
	if err := run(*model, *vocab, *random, *images, *layers, *k, *out, *cache, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "\nanalyze:", err)
		os.Exit(1)
	}
}

func run(model, vocab, random, images, layerList string, k int, out, cache string, workers int) error {
	if images == "" {
		return fmt.Errorf("no images: give -images folder")
	}
	var ls []int
	for _, s := range strings.Split(layerList, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-layers %q: %w", layerList, err)
		}
		ls = append(ls, l)
	}
	src, err := lens.Folder(images)
	if err != nil {
		return err
	}
	m, err := cli.Model(os.Stderr, model, vocab, random)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := []lens.Option{lens.WithLayers(ls...), lens.WithK(k), lens.WithProgress(cli.Bar(os.Stderr))}
	if cache != "" {
		opts = append(opts, lens.WithCache(cache))
	}
	if workers > 0 {
		opts = append(opts, lens.WithWorkers(workers))
	}
	fmt.Fprintf(os.Stderr, "%d images, layers %v, k = %d\n", src.Len(), ls, k)
	res, err := lens.Analyze(ctx, m, src, opts...)
	if err != nil {
		return err
	}
	if err := res.Save(out); err != nil {
		return err
	}
	for _, s := range res.Layers {
		var e float64
		for _, v := range s.Explained {
			e += v
		}
		fmt.Printf("layer %d: %d images, mean variance explained by r_n %.1f%%\n", s.Layer, s.Images, 100*e/float64(len(s.Explained)))
	}
	fmt.Println("wrote", out)
	return nil
}
