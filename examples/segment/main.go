// Command segment makes zero-shot segmentation heatmaps from neurons
// (METHOD.md §4), scores them and the baselines (random neurons, raw
// attention, TextSpan), prints the metrics table and writes overlays.
//
// With no flags it runs on the embedded model (internal/shapesmodel, the
// small CLIP trained on the shapes world) and the shapes world: lens.Analyze
// on -analyze held-out images gives the neurons' directions r_n for the
// default layers (segment.DefaultLayers of the tower's depth: 0, 1, 2 for
// its 4 blocks), then -n other held-out images are segmented against the
// foreground masks of their class's objects. No download, no network:
//
//	go run ./examples/segment
//	go run ./examples/segment -n 100 -class predicted -markdown
//	go run ./examples/segment -draws 5    # random neurons: mean ± std of 5 draws
//	go run ./examples/segment -shapes-model shapes-model/    # a model retrained by examples/train
//
// On a user's model and folder of images with masks:
//
//	go run ./examples/segment -model ViT-B-32.pt -vocab bpe_simple_vocab_16e6.txt.gz \
//	    -labels imagenet_classes.txt -directions lens_out/ -images pairs/ -out seg_out/
//	go run ./examples/segment -random -directions random -images pairs/
//
// The folder holds name.jpg|jpeg|png|gif with name_mask.png beside it
// (nonzero = foreground); its classes are the classifier's predictions.
// -directions is a folder of layer_<l>_directions.npy files, [N, d] each, as
// examples/analyze (the lens) writes them; with -random, "-directions
// random" draws random ones. It prints pixel accuracy, mIoU and mAP per
// method (with the foreground IoU and the share of pixels each predicts as
// foreground), then the mIoU of each method by class segmented, and writes
// <out>/<name>.png for the first -overlays images: one row per method of
// image, heatmap, predicted mask and ground truth.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/internal/shapeseg"
	"github.com/neuronlens/neuronlens/lens"
	"github.com/neuronlens/neuronlens/segment"
)

type options struct {
	model, vocab, labels, dirs, images, out string
	random                                  bool
	protocol, layers, weighting, class      string
	neurons, spanLayers, overlays, zoom     int
	draws                                   int
	seed                                    uint64
	// The shapes world.
	analyze, n, k int
	worldSeed     uint64
	shapesModel   string
	markdown      bool
}

func main() {
	var o options
	flag.StringVar(&o.model, "model", "", "CLIP checkpoint for clip.Load (default: the embedded shapes-world model)")
	flag.BoolVar(&o.random, "random", false, "use a small random model and a random 10-class classifier instead of -model")
	flag.StringVar(&o.vocab, "vocab", "", "tokenizer vocabulary, if the checkpoint has none")
	flag.StringVar(&o.labels, "labels", "", "file with one class name per line (required with -model)")
	flag.StringVar(&o.dirs, "directions", "", "folder of layer_<l>_directions.npy [N, d] from examples/analyze; \"random\" with -random (required with -model or -random)")
	flag.StringVar(&o.images, "images", "", "folder of name.{jpg,png,gif} + name_mask.png pairs (required with -model or -random)")
	flag.StringVar(&o.out, "out", "segment_out", "folder for the overlay PNGs (\"\" writes none)")
	flag.IntVar(&o.overlays, "overlays", 24, "overlays to write: the first n images (-1: all)")
	flag.IntVar(&o.zoom, "zoom", 0, "overlay magnification (0: 4 for inputs under 128 px, else 1)")
	flag.StringVar(&o.protocol, "protocol", "reference", "mask protocol: reference (mask squashed to S×S, as the paper) or aligned (mask resized and cropped like the image); the same on square images")
	flag.StringVar(&o.layers, "layers", "", "comma-separated neuron layers (default: segment.DefaultLayers, the three blocks before the last)")
	flag.IntVar(&o.neurons, "neurons", 0, "neurons to average (default: segment.DefaultNeuronCount, 200·N/3072)")
	flag.StringVar(&o.weighting, "weighting", "mean", "mean (the paper), sign or coef (beyond the paper)")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the random-neuron baseline")
	flag.IntVar(&o.draws, "draws", 1, "random-neuron draws (seeds -seed, -seed+1, …): above 1, also print their mean ± std, overall and by class")
	flag.IntVar(&o.spanLayers, "textspan-layers", 0, "TextSpan baseline over the last k blocks (0: all, as TextSpan)")
	flag.IntVar(&o.analyze, "analyze", shapeseg.DefaultAnalyze, "shapes world: held-out images for lens.Analyze (the directions)")
	flag.IntVar(&o.k, "k", 0, "shapes world: top images per neuron in lens.Analyze (0: 2% of -analyze, as the paper's 100 of 5,124)")
	flag.IntVar(&o.n, "n", 500, "shapes world: held-out images to segment, after the -analyze ones")
	flag.Uint64Var(&o.worldSeed, "world-seed", shapeseg.DefaultSeed, "shapes world: seed of the held-out images")
	flag.StringVar(&o.class, "class", "predicted", "shapes world: segment the predicted class (as METHOD.md §4) or the given (true) one")
	flag.StringVar(&o.shapesModel, "shapes-model", "", cli.ShapesModelUsage)
	flag.BoolVar(&o.markdown, "markdown", false, "print the table in Markdown")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "\nsegment:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	prot, err := segment.ParseMaskProtocol(o.protocol)
	if err != nil {
		return err
	}
	w, err := segment.ParseWeighting(o.weighting)
	if err != nil {
		return err
	}
	ls, err := parseLayers(o.layers)
	if err != nil {
		return err
	}
	if o.draws < 1 {
		return fmt.Errorf("-draws %d: want at least 1", o.draws)
	}
	shapesWorld := o.model == "" && !o.random
	var (
		m    *clip.Model
		cls  *clip.Classifier
		dirs segment.Directions
		src  segment.Source
		what string
	)
	if shapesWorld {
		if o.images != "" || o.dirs != "" {
			return errors.New("-images and -directions need -model or -random (without them the embedded model segments the shapes world)")
		}
		var predict bool
		switch o.class {
		case "predicted":
			predict = true
		case "given":
		default:
			return fmt.Errorf("-class %q: want predicted or given", o.class)
		}
		if o.analyze < 1 || o.n < 1 {
			return errors.New("-analyze and -n must be positive")
		}
		var name string
		if m, name, err = cli.ShapesModel(o.shapesModel); err != nil {
			return err
		}
		if cls, err = shapeseg.Classifier(m); err != nil {
			return err
		}
		if ls == nil {
			ls = segment.DefaultLayers(m.Config.Vision.Layers)
		}
		k := o.k
		if k <= 0 {
			k = shapeseg.DefaultK(o.analyze)
		}
		aw, ew := shapeseg.Split(m, o.worldSeed, o.analyze, o.n)
		fmt.Fprintf(os.Stderr, "lens.Analyze on %d held-out images of the shapes world, layers %v, top %d per neuron\n", o.analyze, ls, k)
		if dirs, err = shapeseg.Directions(ctx, m, aw, ls, lens.WithK(k), lens.WithProgress(cli.Bar(os.Stderr))); err != nil {
			return err
		}
		src = shapeseg.Source{World: ew, Predict: predict}
		what = fmt.Sprintf("%s; %d held-out images of the shapes world (seed %d; directions from %d others), %s class", name, o.n, o.worldSeed, o.analyze, o.class)
	} else {
		if o.shapesModel != "" {
			return errors.New("-shapes-model runs on the shapes world: leave out -model and -random")
		}
		if o.model != "" && o.random {
			return errors.New("give one of -model and -random")
		}
		if o.images == "" || o.dirs == "" {
			return errors.New("-directions and -images are required with -model or -random (see -h)")
		}
		if o.random {
			m, cls, err = randomModel()
		} else {
			m, cls, err = loadModel(o.model, o.vocab, o.labels)
		}
		if err != nil {
			return err
		}
		if ls == nil {
			ls = segment.DefaultLayers(m.Config.Vision.Layers)
		}
		if dirs, err = loadDirections(o.dirs, ls, o.random, m.Config.Vision.MLPWidth, m.Config.EmbedDim); err != nil {
			return err
		}
		folder, err := segment.OpenFolder(o.images)
		if err != nil {
			return err
		}
		src = folder
		what = fmt.Sprintf("%d images of %s, predicted class", folder.Len(), o.images)
	}
	opts := []segment.Option{segment.WithLayers(ls...), segment.WithWeighting(w), segment.WithSeed(o.seed), segment.WithTextSpanLayers(o.spanLayers)}
	if o.neurons > 0 {
		opts = append(opts, segment.WithNeurons(o.neurons))
	}
	seg, err := segment.New(m, cls, dirs, opts...)
	if err != nil {
		return err
	}
	neurons := o.neurons
	if neurons <= 0 {
		neurons = segment.DefaultNeuronCount(m.Config.Vision.MLPWidth)
	}
	rep, err := evaluate(ctx, seg, m, cls, src, prot, o.out, o.overlays, o.zoom)
	if err != nil {
		return err
	}
	if o.draws > 1 {
		if rep.draws, err = randomDraws(ctx, m, cls, dirs, opts, src, prot, o.seed, o.draws); err != nil {
			return err
		}
	}
	fmt.Printf("%s; %s masks; %d neurons of layers %v, weighting %s; %.1f heatmap sets/s\n", what, prot, neurons, ls, w, rep.rate)
	rep.print(os.Stdout, o.markdown)
	if o.out != "" && o.overlays != 0 {
		fmt.Printf("overlays (rows: %s; columns: image | heatmap | mask | ground truth): %s/\n", strings.Join(methodNames(), ", "), o.out)
	}
	return nil
}

func methodNames() []string {
	var out []string
	for _, me := range segment.Methods {
		out = append(out, me.String())
	}
	return out
}

// report is what evaluate measured.
type report struct {
	metrics   *[segment.NumMethods]segment.Metrics
	predFG    [segment.NumMethods]int64 // pixels predicted foreground
	truthFG   int64                     // pixels truly foreground
	correct   int                       // images whose predicted class is the given one
	given     int                       // images with a given class
	rate      float64                   // images per second (every method, forward pass included)
	predicted bool
	// perClass holds each method's metrics over the images of each class
	// segmented (the predicted class, or the given one), by class index.
	perClass map[int]*[segment.NumMethods]segment.Metrics
	classes  []string
	draws    []randomDraw // the random draws of -draws, when more than one
}

func evaluate(ctx context.Context, seg *segment.Segmenter, m *clip.Model, cls *clip.Classifier, src segment.Source, prot segment.MaskProtocol, outDir string, overlays, zoom int) (*report, error) {
	S := m.Config.Vision.ImageSize
	if zoom <= 0 {
		zoom = 1
		if S < 128 {
			zoom = 4
		}
	}
	if outDir != "" && overlays != 0 {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return nil, err
		}
	}
	rep := &report{perClass: map[int]*[segment.NumMethods]segment.Metrics{}, classes: cls.Classes}
	var extra time.Duration // time spent outside the segmentation
	visit := func(i int, smp segment.Sample, r *segment.Result, truth []uint8) error {
		if (i+1)%25 == 0 || i+1 == src.Len() {
			fmt.Fprintf(os.Stderr, "\rsegmented %d/%d", i+1, src.Len())
		}
		for _, v := range truth {
			if v != 0 {
				rep.truthFG++
			}
		}
		pc := rep.perClass[r.Class]
		if pc == nil {
			pc = new([segment.NumMethods]segment.Metrics)
			rep.perClass[r.Class] = pc
		}
		for me, h := range r.Heatmaps {
			if h != nil {
				pc[me].Add(h, truth)
				for _, v := range h.Mask() {
					if v != 0 {
						rep.predFG[me]++
					}
				}
			}
		}
		rep.predicted = r.Predicted
		if smp.Class >= 0 {
			// With a given class, see whether the classifier agrees (the
			// segmentation used the given one); not counted in the rate.
			t := time.Now()
			rep.given++
			if predict(ctx, m, cls, smp.Image) == smp.Class {
				rep.correct++
			}
			extra += time.Since(t)
		}
		if outDir == "" || (overlays >= 0 && i >= overlays) {
			return nil
		}
		t := time.Now()
		defer func() { extra += time.Since(t) }()
		return writeOverlay(filepath.Join(outDir, smp.Name+".png"), smp.Image, r, truth, S, zoom)
	}
	start := time.Now()
	ms, err := seg.Evaluate(ctx, src, prot, visit)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	rep.metrics = ms
	rep.rate = float64(src.Len()) / (time.Since(start) - extra).Seconds()
	return rep, nil
}

// predict returns the classifier's class for img (used only to report the
// zero-shot accuracy when the segmentation uses the given class).
func predict(ctx context.Context, m *clip.Model, cls *clip.Classifier, img image.Image) int {
	px, err := clip.Preprocess(img, m.Config.Vision.ImageSize)
	if err != nil {
		return -1
	}
	emb, err := m.RunPixels(ctx, px, nil)
	if err != nil {
		return -1
	}
	return cls.Predict(emb)
}

func (r *report) print(w io.Writer, markdown bool) {
	labeled := r.metrics[0].Labeled
	for _, a := range r.metrics {
		labeled = max(labeled, a.Labeled)
	}
	pct := func(n int64) float64 { return 100 * float64(n) / float64(max(labeled, 1)) }
	if r.given > 0 {
		fmt.Fprintf(w, "zero-shot accuracy on these images: %.1f%% (the given class was segmented)\n", 100*float64(r.correct)/float64(r.given))
	}
	fmt.Fprintf(w, "ground-truth foreground: %.1f%% of the pixels\n", pct(r.truthFG))
	if markdown {
		fmt.Fprintln(w, "\n| method | pixel acc | mIoU | mAP | fg IoU | predicted fg |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	} else {
		fmt.Fprintf(w, "%-14s %9s %7s %7s %7s %12s\n", "method", "pixel acc", "mIoU", "mAP", "fg IoU", "predicted fg")
	}
	for _, me := range segment.Methods {
		a := &r.metrics[me]
		if a.Images == 0 {
			continue
		}
		if markdown {
			fmt.Fprintf(w, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f%% |\n", me, 100*a.PixelAccuracy(), 100*a.MIoU(), 100*a.MAP(), 100*a.IoU(1), pct(r.predFG[me]))
		} else {
			fmt.Fprintf(w, "%-14s %9.1f %7.1f %7.1f %7.1f %11.1f%%\n", me, 100*a.PixelAccuracy(), 100*a.MIoU(), 100*a.MAP(), 100*a.IoU(1), pct(r.predFG[me]))
		}
	}
	if len(r.draws) > 1 {
		var px, mi, ap []float64
		for _, d := range r.draws {
			px = append(px, 100*d.all.PixelAccuracy())
			mi = append(mi, 100*d.all.MIoU())
			ap = append(ap, 100*d.all.MAP())
		}
		name := fmt.Sprintf("random ×%d", len(r.draws))
		if markdown {
			fmt.Fprintf(w, "| %s (mean ± std of %d draws) | %s | %s | %s | | |\n", segment.Random, len(r.draws), meanStd(px), meanStd(mi), meanStd(ap))
		} else {
			fmt.Fprintf(w, "%-14s %9s %7s %7s   (mean ± std of %d draws)\n", name, meanStd(px), meanStd(mi), meanStd(ap), len(r.draws))
		}
	}
	r.printPerClass(w, markdown)
}

// printPerClass prints each method's mIoU over the images of each class
// segmented, with the random draws' mean when there are several.
func (r *report) printPerClass(w io.Writer, markdown bool) {
	var cs []int
	for c := range r.perClass {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	var ms []segment.Method
	for _, me := range segment.Methods {
		if r.metrics[me].Images > 0 {
			ms = append(ms, me)
		}
	}
	head := []string{"class", "images"}
	for _, me := range ms {
		head = append(head, me.String())
	}
	if len(r.draws) > 1 {
		head = append(head, fmt.Sprintf("random ×%d", len(r.draws)))
	}
	fmt.Fprintln(w, "\nmIoU by class segmented:")
	if markdown {
		fmt.Fprintf(w, "\n| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat("---:|", len(head)-1))
	} else {
		for _, h := range head {
			fmt.Fprintf(w, "%-14s", h)
		}
		fmt.Fprintln(w)
	}
	for _, c := range cs {
		pc := r.perClass[c]
		row := []string{r.classes[c], strconv.Itoa(pc[ms[0]].Images)}
		for _, me := range ms {
			row = append(row, fmt.Sprintf("%.1f", 100*pc[me].MIoU()))
		}
		if len(r.draws) > 1 {
			var v []float64
			for _, d := range r.draws {
				if m := d.perClass[c]; m != nil {
					v = append(v, 100*m.MIoU())
				}
			}
			row = append(row, meanStd(v))
		}
		if markdown {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		} else {
			for _, x := range row {
				fmt.Fprintf(w, "%-14s", x)
			}
			fmt.Fprintln(w)
		}
	}
}

// meanStd formats the mean ± sample standard deviation of v.
func meanStd(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	var m, s float64
	for _, x := range v {
		m += x / float64(len(v))
	}
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	if len(v) > 1 {
		s /= float64(len(v) - 1)
	}
	return fmt.Sprintf("%.1f ± %.1f", m, math.Sqrt(s))
}

// randomDraw is one random-neuron draw's metrics, overall and by class segmented.
type randomDraw struct {
	all      segment.Metrics
	perClass map[int]*segment.Metrics
}

// randomDraws evaluates the Random method with seeds seed, seed+1, …,
// seed+k−1 on src.
func randomDraws(ctx context.Context, m *clip.Model, cls *clip.Classifier, dirs segment.Directions, opts []segment.Option, src segment.Source, prot segment.MaskProtocol, seed uint64, k int) ([]randomDraw, error) {
	var out []randomDraw
	for i := range uint64(k) {
		seg, err := segment.New(m, cls, dirs, append(slices.Clone(opts), segment.WithMethods(segment.Random), segment.WithSeed(seed+i))...)
		if err != nil {
			return nil, err
		}
		d := randomDraw{perClass: map[int]*segment.Metrics{}}
		ms, err := seg.Evaluate(ctx, src, prot, func(_ int, _ segment.Sample, r *segment.Result, truth []uint8) error {
			pc := d.perClass[r.Class]
			if pc == nil {
				pc = new(segment.Metrics)
				d.perClass[r.Class] = pc
			}
			pc.Add(r.Heatmaps[segment.Random], truth)
			return nil
		})
		if err != nil {
			return nil, err
		}
		d.all = ms[segment.Random]
		out = append(out, d)
		fmt.Fprintf(os.Stderr, "\rrandom draw %d/%d", i+1, k)
	}
	fmt.Fprintln(os.Stderr)
	return out, nil
}

// writeOverlay writes one row per method of image | heatmap | mask | ground
// truth, magnified zoom times.
func writeOverlay(path string, img image.Image, r *segment.Result, truth []uint8, S, zoom int) error {
	crop, err := clip.ResizeCrop(img, S)
	if err != nil {
		return err
	}
	sheet := image.NewRGBA(image.Rect(0, 0, 4*S, len(segment.Methods)*S))
	for row, me := range segment.Methods {
		if h := r.Heatmaps[me]; h != nil {
			draw.Draw(sheet, image.Rect(0, row*S, 4*S, (row+1)*S), segment.Panels(crop, h, truth), image.Point{}, draw.Src)
		}
	}
	var out image.Image = sheet
	if zoom > 1 {
		out = magnify(sheet, zoom)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, out); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// magnify repeats every pixel z×z times.
func magnify(src *image.RGBA, z int) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()*z, b.Dy()*z))
	for y := range b.Dy() * z {
		for x := range b.Dx() * z {
			dst.SetRGBA(x, y, src.RGBAAt(b.Min.X+x/z, b.Min.Y+y/z))
		}
	}
	return dst
}

func parseLayers(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var ls []int
	for _, f := range strings.Split(s, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("-layers: %w", err)
		}
		ls = append(ls, l)
	}
	return ls, nil
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
