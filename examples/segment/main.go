// Command segment makes zero-shot segmentation heatmaps from neurons
// (METHOD.md §4) for a folder of images with masks, scores them and the
// baselines, and writes overlays.
//
//	go run ./examples/segment -model ViT-B-32.pt -vocab bpe_simple_vocab_16e6.txt.gz \
//	    -labels imagenet_classes.txt -directions lens_out/ -images pairs/ -out seg_out/
//	go run ./examples/segment -random -directions random -images pairs/
//
// The folder holds name.jpg|jpeg|png|gif with name_mask.png beside it
// (nonzero = foreground). -directions is a folder of layer_<l>_directions.npy
// files, [N, d] each, as examples/analyze (the lens) writes them; with
// -random, "-directions random" draws random ones. It prints pixel accuracy,
// mIoU and mAP per method and writes <out>/<name>.png: one row per method
// of image, heatmap, predicted mask and ground truth.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/segment"
)

func main() {
	model := flag.String("model", "", "CLIP checkpoint for clip.Load (or use -random)")
	random := flag.Bool("random", false, "use a small random model and a random 10-class classifier instead of -model")
	vocab := flag.String("vocab", "", "tokenizer vocabulary, if the checkpoint has none")
	labels := flag.String("labels", "", "file with one class name per line (required with -model)")
	dirsPath := flag.String("directions", "", "folder of layer_<l>_directions.npy [N, d] from examples/analyze; \"random\" with -random (required)")
	images := flag.String("images", "", "folder of name.{jpg,png,gif} + name_mask.png pairs (required)")
	out := flag.String("out", "segment_out", "folder for the overlay PNGs (\"\" writes none)")
	protocol := flag.String("protocol", "reference", "mask protocol: reference (mask squashed to S×S, as the paper) or aligned (mask resized and cropped like the image)")
	layers := flag.String("layers", "", "comma-separated neuron layers (default: the three blocks before the last)")
	neurons := flag.Int("neurons", 0, "neurons to average (default: 200·N/3072)")
	weighting := flag.String("weighting", "mean", "mean (the paper), sign or coef (beyond the paper)")
	seed := flag.Uint64("seed", 0, "seed of the random-neuron baseline")
	spanLayers := flag.Int("textspan-layers", 0, "TextSpan baseline over the last k blocks (0: all, as TextSpan)")
	flag.Parse()
	if err := run(*model, *random, *vocab, *labels, *dirsPath, *images, *out, *protocol, *layers, *neurons, *weighting, *seed, *spanLayers); err != nil {
		fmt.Fprintln(os.Stderr, "segment:", err)
		os.Exit(1)
	}
}

func run(modelPath string, random bool, vocab, labelsPath, dirsPath, imagesDir, outDir, protocol, layersFlag string, neurons int, weighting string, seed uint64, spanLayers int) error {
	if (modelPath == "") == !random || imagesDir == "" || dirsPath == "" {
		return errors.New("one of -model and -random, plus -directions and -images, are required (see -h)")
	}
	prot, err := segment.ParseMaskProtocol(protocol)
	if err != nil {
		return err
	}
	w, err := segment.ParseWeighting(weighting)
	if err != nil {
		return err
	}
	var m *clip.Model
	var cls *clip.Classifier
	if random {
		m, cls, err = randomModel()
	} else {
		m, cls, err = loadModel(modelPath, vocab, labelsPath)
	}
	if err != nil {
		return err
	}
	vc := m.Config.Vision
	ls := segment.DefaultLayers(vc.Layers)
	if layersFlag != "" {
		ls = nil
		for _, f := range strings.Split(layersFlag, ",") {
			l, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("-layers: %w", err)
			}
			ls = append(ls, l)
		}
	}
	dirs, err := loadDirections(dirsPath, ls, random, vc.MLPWidth, m.Config.EmbedDim)
	if err != nil {
		return err
	}
	opts := []segment.Option{segment.WithLayers(ls...), segment.WithWeighting(w), segment.WithSeed(seed), segment.WithTextSpanLayers(spanLayers)}
	if neurons > 0 {
		opts = append(opts, segment.WithNeurons(neurons))
	}
	seg, err := segment.New(m, cls, dirs, opts...)
	if err != nil {
		return err
	}
	folder, err := segment.OpenFolder(imagesDir)
	if err != nil {
		return err
	}
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return err
		}
	}
	visit := func(i int, smp segment.Sample, r *segment.Result, truth []uint8) error {
		fmt.Fprintf(os.Stderr, "\r%d/%d %s: %s", i+1, folder.Len(), smp.Name, cls.Classes[r.Class])
		if outDir == "" {
			return nil
		}
		crop, err := clip.ResizeCrop(smp.Image, vc.ImageSize)
		if err != nil {
			return err
		}
		S := vc.ImageSize
		sheet := image.NewRGBA(image.Rect(0, 0, 4*S, len(segment.Methods)*S))
		for row, me := range segment.Methods {
			draw.Draw(sheet, image.Rect(0, row*S, 4*S, (row+1)*S), segment.Panels(crop, r.Heatmaps[me], truth), image.Point{}, draw.Src)
		}
		f, err := os.Create(filepath.Join(outDir, smp.Name+".png"))
		if err != nil {
			return err
		}
		if err := png.Encode(f, sheet); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	ms, err := seg.Evaluate(context.Background(), folder, prot, visit)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("%d images, %s masks, layers %v, weighting %s\n", folder.Len(), prot, ls, w)
	fmt.Printf("%-14s %9s %7s %7s\n", "method", "pixel acc", "mIoU", "mAP")
	for _, me := range segment.Methods {
		a := &ms[me]
		fmt.Printf("%-14s %9.1f %7.1f %7.1f\n", me, 100*a.PixelAccuracy(), 100*a.MIoU(), 100*a.MAP())
	}
	return nil
}

func loadModel(path, vocab, labelsPath string) (*clip.Model, *clip.Classifier, error) {
	if labelsPath == "" {
		return nil, nil, errors.New("-labels is required with -model")
	}
	b, err := os.ReadFile(labelsPath)
	if err != nil {
		return nil, nil, err
	}
	var classes []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			classes = append(classes, l)
		}
	}
	var opts []clip.Option
	if vocab != "" {
		opts = append(opts, clip.WithVocab(vocab))
	}
	m, err := clip.Load(path, opts...)
	if err != nil {
		return nil, nil, err
	}
	cls, err := m.NewClassifier(classes, []string{"a photo of a {}."})
	return m, cls, err
}

// randomModel is a small random image tower (S = 224, patch 32, 6 blocks)
// with a random 10-class classifier.
func randomModel() (*clip.Model, *clip.Classifier, error) {
	m, err := clip.New(clip.Config{EmbedDim: 32, Activation: clip.QuickGELU,
		Vision: &clip.VisionConfig{ImageSize: 224, PatchSize: 32, Width: 64, Layers: 6, Heads: 4, MLPWidth: 256}})
	if err != nil {
		return nil, nil, err
	}
	m.InitRandom(1)
	r := rand.New(rand.NewPCG(1, 1))
	cls := &clip.Classifier{Dim: 32, Weights: make([]float32, 10*32)}
	for c := range 10 {
		cls.Classes = append(cls.Classes, fmt.Sprintf("class%d", c))
		unit32(cls.Weights[c*32:(c+1)*32], r)
	}
	return m, cls, nil
}

func unit32(x []float32, r *rand.Rand) {
	var s float64
	for i := range x {
		x[i] = float32(r.NormFloat64())
		s += float64(x[i]) * float64(x[i])
	}
	for i := range x {
		x[i] /= float32(math.Sqrt(s))
	}
}

func loadDirections(dir string, layers []int, random bool, N, d int) (segment.Directions, error) {
	dirs := segment.Directions{}
	if dir == "random" {
		if !random {
			return nil, errors.New(`-directions random needs -random; give the folder examples/analyze wrote`)
		}
		r := rand.New(rand.NewPCG(2, 2))
		row := make([]float32, d)
		for _, l := range layers {
			x := mat.NewDense(N, d, nil)
			for n := range N {
				unit32(row, r)
				for k, v := range row {
					x.Set(n, k, float64(v))
				}
			}
			dirs[l] = x
		}
		return dirs, nil
	}
	for _, l := range layers {
		p := filepath.Join(dir, fmt.Sprintf("layer_%d_directions.npy", l))
		a, err := npy.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w (examples/analyze writes the directions of each layer)", err)
		}
		if len(a.Shape) != 2 {
			return nil, fmt.Errorf("%s: shape %v, want [N d]", p, a.Shape)
		}
		dirs[l] = mat.NewDense(a.Shape[0], a.Shape[1], a.Float64())
	}
	return dirs, nil
}
