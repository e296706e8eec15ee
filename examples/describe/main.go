// Command describe explains the neurons of CLIP's image tower with text: it
// runs lens.Analyze over a folder of images, embeds a text pool with the
// text tower and decomposes every neuron's direction r_n into the pool's
// texts with OMP (METHOD.md §3). It prints each neuron's top terms with
// their signs and writes the reference's JSON layout, one file per layer.
//
//	go run ./examples/describe -model ViT-B-32.pt -vocab bpe_simple_vocab_16e6.txt.gz \
//	    -images imagenet_sub/ -pool 30k.txt -layers 9 -out descriptions/
//	go run ./examples/describe -random -vocab bpe_simple_vocab_16e6.txt.gz -images photos/ -pool 30k.txt
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/decompose"
	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/lens"
)

type options struct {
	model, vocab, images, pool, layers, norm, out, cache string
	random                                               bool
	k, terms, show, workers                              int
}

func main() {
	var o options
	flag.StringVar(&o.model, "model", "", "CLIP checkpoint (any format clip.Load reads)")
	flag.StringVar(&o.vocab, "vocab", "", "tokenizer vocabulary, CLIP's bpe_simple_vocab_16e6.txt.gz (needed unless the checkpoint brings one)")
	flag.BoolVar(&o.random, "random", false, "use a small random model (seed 1) instead of a checkpoint; needs -vocab")
	flag.StringVar(&o.images, "images", "", "folder of images (.jpg, .png, .gif), searched recursively")
	flag.StringVar(&o.pool, "pool", "", "text pool: one description per line")
	flag.StringVar(&o.layers, "layers", "9", "comma-separated MLP blocks to describe")
	flag.IntVar(&o.k, "k", 100, "top images per neuron for its direction r_n")
	flag.IntVar(&o.terms, "terms", 128, "terms (texts) per neuron")
	flag.StringVar(&o.norm, "norm", "reference", "dictionary normalization: reference or unit")
	flag.StringVar(&o.out, "out", "descriptions", "output folder: layer<l>.json per layer")
	flag.StringVar(&o.cache, "cache", "", "folder caching the pool's embeddings (resumable; default: none)")
	flag.IntVar(&o.show, "show", 5, "terms printed per neuron (0: print nothing per neuron)")
	flag.IntVar(&o.workers, "workers", 0, "parallel workers (0: all cores)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "describe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.images == "" || o.pool == "" {
		return errors.New("give -images folder and -pool file")
	}
	var layers []int
	for _, s := range strings.Split(o.layers, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-layers %q: %w", o.layers, err)
		}
		layers = append(layers, l)
	}
	norm, err := decompose.ParseNormalization(o.norm)
	if err != nil {
		return err
	}
	pool, err := decompose.LoadPool(o.pool)
	if err != nil {
		return err
	}
	src, err := lens.Folder(o.images)
	if err != nil {
		return err
	}
	m, err := model(o)
	if err != nil {
		return err
	}
	var dopts []decompose.Option
	lopts := []lens.Option{lens.WithLayers(layers...), lens.WithK(o.k), lens.WithProgress(cli.Bar(os.Stderr))}
	if o.workers > 0 {
		dopts = append(dopts, decompose.WithWorkers(o.workers))
		lopts = append(lopts, lens.WithWorkers(o.workers))
	}
	fmt.Fprintf(os.Stderr, "%d images, %d texts, layers %v, k = %d, %d terms, %v dictionary\n", src.Len(), len(pool.Texts), layers, o.k, o.terms, norm)
	res, err := lens.Analyze(ctx, m, src, lopts...)
	if err != nil {
		return err
	}
	eopts := append(dopts, decompose.WithProgress(bar("embed")))
	if o.cache != "" {
		eopts = append(eopts, decompose.WithCache(o.cache))
	}
	emb, err := decompose.Embed(ctx, m, pool, eopts...)
	if err != nil {
		return err
	}
	dict, err := decompose.NewDictionary(emb, norm)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for _, st := range res.Layers {
		ds, err := decompose.DecomposeNeurons(ctx, dict, st, o.terms, append(dopts, decompose.WithProgress(bar("decompose")))...)
		if err != nil {
			return err
		}
		var cos float64
		for n, dec := range ds.Neurons {
			cos += dec.Cosine
			if o.show > 0 {
				fmt.Printf("layer %d neuron %d (cos %.3f):", st.Layer, n, dec.Cosine)
				for _, t := range dec.Terms[:min(o.show, len(dec.Terms))] {
					fmt.Printf("  %+.4f %q", t.Coef, t.Text)
				}
				fmt.Println()
			}
		}
		path := filepath.Join(o.out, fmt.Sprintf("layer%d.json", st.Layer))
		if err := ds.Save(path); err != nil {
			return err
		}
		fmt.Printf("layer %d: %d neurons, mean cosine of the reconstructions %.3f, wrote %s\n", st.Layer, len(ds.Neurons), cos/float64(len(ds.Neurons)), path)
	}
	return nil
}

// model loads the checkpoint, or builds the small random model of -random.
func model(o options) (*clip.Model, error) {
	if o.random && o.model != "" {
		return nil, errors.New("give -model or -random, not both")
	}
	if !o.random {
		if o.model == "" {
			return nil, errors.New("no model: give -model checkpoint or -random")
		}
		return cli.Model(os.Stderr, o.model, o.vocab, "")
	}
	if o.vocab == "" {
		return nil, errors.New("-random needs -vocab (CLIP's bpe_simple_vocab_16e6.txt.gz) for the text tower")
	}
	tok, err := clip.LoadTokenizer(o.vocab)
	if err != nil {
		return nil, err
	}
	m, err := clip.New(clip.Config{EmbedDim: 64, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 32, Width: 64, Layers: 12, Heads: 2, MLPWidth: 256},
		Text:   &clip.TextConfig{ContextLength: 77, VocabSize: tok.VocabSize(), Width: 64, Layers: 2, Heads: 2, MLPWidth: 256}})
	if err != nil {
		return nil, err
	}
	m.InitRandom(1)
	m.SetTokenizer(tok)
	fmt.Fprintln(os.Stderr, "note: using a small random model (seed 1), not a checkpoint: the descriptions mean nothing")
	return m, nil
}

// bar draws a one-line progress bar on stderr.
func bar(phase string) decompose.Progress {
	f := cli.Bar(os.Stderr)
	return func(done, total int) { f(lens.ProgressReport{Phase: phase, Done: done, Total: total}) }
}
