package segment

import (
	"context"
	"fmt"
	"image"
	"slices"
	"sync"

	"github.com/neuronlens/neuronlens/clip"
)

// Method is one way of making a heatmap.
type Method uint8

const (
	// SecondOrder is the paper's method (METHOD.md §4): the mean activation
	// of the neurons whose directions r_n best match the class.
	SecondOrder Method = iota
	// Random is the paper's baseline: the same with random neurons.
	Random
	// RawAttention is the CLS attention of the last block, averaged over
	// heads ([AttentionMap]).
	RawAttention
	// TextSpan is the first-order patch contributions through the attention
	// heads ([TextSpanMap]), post-processed as TextSpan does (negative values
	// clipped, threshold at the mean).
	TextSpan

	// NumMethods is the number of methods.
	NumMethods
)

// Methods lists every method, in order.
var Methods = []Method{SecondOrder, Random, RawAttention, TextSpan}

var methodNames = [NumMethods]string{"second-order", "random", "raw-attention", "textspan"}

// String returns "second-order", "random", "raw-attention" or "textspan".
func (m Method) String() string {
	if m < NumMethods {
		return methodNames[m]
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// Option changes a [Segmenter]'s defaults.
type Option func(*config)

type config struct {
	layers     []int
	neurons    int
	weighting  Weighting
	seed       uint64
	spanLayers int
	methods    []Method
}

// WithLayers picks the neurons' blocks (default [DefaultLayers] of the
// tower's depth: 8, 9, 10 for 12 blocks).
func WithLayers(layers ...int) Option {
	return func(c *config) { c.layers = slices.Clone(layers) }
}

// WithNeurons sets how many neurons are averaged (default
// [DefaultNeuronCount] of the MLP width: 200 for N = 3072).
func WithNeurons(k int) Option { return func(c *config) { c.neurons = k } }

// WithWeighting combines the neurons' activations with w instead of the
// paper's plain mean (beyond the paper; see [Weighting]).
func WithWeighting(w Weighting) Option { return func(c *config) { c.weighting = w } }

// WithSeed seeds the [Random] baseline (default 0). The draw for class c
// is [RandomNeurons] with this seed and stream c.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithTextSpanLayers restricts [TextSpan] to the last k blocks. The default,
// 0, uses every block, as TextSpan's segmentation code does.
func WithTextSpanLayers(k int) Option { return func(c *config) { c.spanLayers = k } }

// WithMethods chooses the methods to run (default: all of [Methods]).
func WithMethods(ms ...Method) Option { return func(c *config) { c.methods = slices.Clone(ms) } }

// Segmenter makes heatmaps for a model, a zero-shot classifier and the
// neurons' directions. It is safe for concurrent use.
type Segmenter struct {
	model *clip.Model
	cls   *clip.Classifier
	dirs  Directions
	cfg   config
	run   [NumMethods]bool
	span  []int // TextSpan's blocks
	mean  []float32

	mu       sync.Mutex
	selected map[int][]Neuron // per class
	random   map[int][]Neuron
	spans    map[int]*spanWeights
}

// New returns a segmenter. dirs must hold the directions of every layer the
// neurons are picked from, [N, d] each, unless only the RawAttention and
// TextSpan methods are chosen. It returns an error naming the problem for a
// model without an image tower, a classifier of another dimension, missing
// or mis-shaped directions, a neuron count out of range or an unknown
// method.
func New(m *clip.Model, cls *clip.Classifier, dirs Directions, opts ...Option) (*Segmenter, error) {
	if m == nil || m.Visual == nil {
		return nil, fmt.Errorf("segment: model has no image tower")
	}
	vc := m.Config.Vision
	if cls == nil || cls.Dim != m.Config.EmbedDim || len(cls.Classes) == 0 || len(cls.Weights) != len(cls.Classes)*cls.Dim {
		return nil, fmt.Errorf("segment: classifier does not match the model's embedding dimension %d", m.Config.EmbedDim)
	}
	c := config{layers: DefaultLayers(vc.Layers), neurons: DefaultNeuronCount(vc.MLPWidth), methods: Methods}
	for _, o := range opts {
		o(&c)
	}
	s := &Segmenter{model: m, cls: cls, dirs: dirs, cfg: c, selected: map[int][]Neuron{}, random: map[int][]Neuron{}, spans: map[int]*spanWeights{}}
	for _, me := range c.methods {
		if me >= NumMethods {
			return nil, fmt.Errorf("segment: unknown method %v", me)
		}
		s.run[me] = true
	}
	if s.run[SecondOrder] || s.run[Random] {
		for _, l := range c.layers {
			if l < 0 || l >= vc.Layers {
				return nil, fmt.Errorf("segment: layer %d out of 0..%d", l, vc.Layers-1)
			}
		}
		N, err := checkDirections(dirs, c.layers, cls.Dim)
		if err != nil {
			return nil, err
		}
		if N != vc.MLPWidth {
			return nil, fmt.Errorf("segment: %d neuron directions per layer, the model has %d neurons", N, vc.MLPWidth)
		}
		if c.neurons < 1 || c.neurons > N*len(c.layers) {
			return nil, fmt.Errorf("segment: %d neurons asked of %d", c.neurons, N*len(c.layers))
		}
		if c.weighting > CoefWeight {
			return nil, fmt.Errorf("segment: unknown weighting %v", c.weighting)
		}
	}
	k := c.spanLayers
	if k <= 0 || k > vc.Layers {
		k = vc.Layers
	}
	for l := vc.Layers - k; l < vc.Layers; l++ {
		s.span = append(s.span, l)
	}
	// The mean class row, subtracted by TextSpan (with one class there is
	// nothing to compare with, and nothing is subtracted).
	s.mean = make([]float32, cls.Dim)
	if C := len(cls.Classes); C > 1 {
		acc := make([]float64, cls.Dim)
		for i := range C {
			for k, w := range cls.Weights[i*cls.Dim : (i+1)*cls.Dim] {
				acc[k] += float64(w)
			}
		}
		for k := range acc {
			s.mean[k] = float32(acc[k] / float64(C))
		}
	}
	return s, nil
}

// Result is the output of one [Segmenter.Segment] call.
type Result struct {
	Class     int  // the class segmented
	Predicted bool // whether Class was predicted by the classifier
	// Heatmaps holds one heatmap per method, indexed by [Method]; nil for
	// methods not run.
	Heatmaps [NumMethods]*Heatmap
	// Neurons are the neurons of SecondOrder and Random, indexed by
	// [Method]; nil for the others.
	Neurons [NumMethods][]Neuron
}

// Segment preprocesses img as CLIP does and segments it; see
// [Segmenter.SegmentPixels].
func (s *Segmenter) Segment(ctx context.Context, img image.Image, class int) (*Result, error) {
	pixels, err := clip.Preprocess(img, s.model.Config.Vision.ImageSize)
	if err != nil {
		return nil, err
	}
	return s.SegmentPixels(ctx, pixels, class)
}

// SegmentPixels makes a heatmap per chosen method for preprocessed pixels
// [3, S, S] and a class index of the classifier; a negative class means
// the classifier's prediction. One forward pass serves every method. It
// returns the model's errors and an error for a class out of range.
func (s *Segmenter) SegmentPixels(ctx context.Context, pixels []float32, class int) (*Result, error) {
	if class >= len(s.cls.Classes) {
		return nil, fmt.Errorf("segment: class %d of %d", class, len(s.cls.Classes))
	}
	var hk clip.Hooks
	var tr clip.Trace
	tr.Keep(&hk, s.Points()...)
	emb, err := s.model.RunPixels(ctx, pixels, &hk)
	if err != nil {
		return nil, err
	}
	return s.SegmentTrace(&tr, emb, class)
}

// Points returns the trace points the chosen methods read.
func (s *Segmenter) Points() []clip.Point {
	vc := s.model.Config.Vision
	var pts []clip.Point
	if s.run[SecondOrder] || s.run[Random] {
		for _, l := range s.cfg.layers {
			pts = append(pts, clip.Point{Layer: l, Site: clip.MLPPost})
		}
	}
	if s.run[RawAttention] {
		pts = append(pts, clip.Point{Layer: vc.Layers - 1, Site: clip.AttnPattern})
	}
	if s.run[TextSpan] {
		pts = append(pts, TextSpanPoints(s.span)...)
	}
	return pts
}

// SegmentTrace makes the heatmaps from a forward pass the caller ran: tr
// holds at least [Segmenter.Points] and emb [d] is the pass's embedding f(I)
// (used only to predict the class when class < 0). It lets a segmentation
// share a pass with other hooks. It returns an error for a class out of
// range or a trace that lacks a point.
func (s *Segmenter) SegmentTrace(tr *clip.Trace, emb []float32, class int) (*Result, error) {
	if class >= len(s.cls.Classes) {
		return nil, fmt.Errorf("segment: class %d of %d", class, len(s.cls.Classes))
	}
	m := s.model
	vc := m.Config.Vision
	T, N, H := vc.Tokens(), vc.MLPWidth, vc.Heads
	S, g := vc.ImageSize, vc.ImageSize/vc.PatchSize
	last := clip.Point{Layer: vc.Layers - 1, Site: clip.AttnPattern}
	res := &Result{Class: class}
	if class < 0 {
		res.Class, res.Predicted = s.cls.Predict(emb), true
	}
	row := s.cls.Weights[res.Class*s.cls.Dim : (res.Class+1)*s.cls.Dim]
	acts := map[int][]float32{}
	if s.run[SecondOrder] || s.run[Random] {
		for _, l := range s.cfg.layers {
			p := clip.Point{Layer: l, Site: clip.MLPPost}
			a, ok := tr.At(p)
			if !ok || len(a.Data) != T*N {
				return nil, fmt.Errorf("segment: the trace lacks %v", p)
			}
			acts[l] = a.Data
		}
	}
	for _, me := range []Method{SecondOrder, Random} {
		if !s.run[me] {
			continue
		}
		ns, err := s.neurons(me, res.Class, row)
		if err != nil {
			return nil, err
		}
		res.Neurons[me] = ns
		res.Heatmaps[me] = NewHeatmap(NeuronMap(acts, T, N, ns, s.cfg.weighting), g, S, Post{})
	}
	if s.run[RawAttention] {
		a, ok := tr.At(last)
		if !ok {
			return nil, fmt.Errorf("segment: the trace lacks %v", last)
		}
		res.Heatmaps[RawAttention] = NewHeatmap(AttentionMap(a.Data, H, T), g, S, Post{})
	}
	if s.run[TextSpan] {
		w, err := s.spanWeights(res.Class, row)
		if err != nil {
			return nil, err
		}
		grid, err := w.apply(m, tr)
		if err != nil {
			return nil, err
		}
		res.Heatmaps[TextSpan] = NewHeatmap(grid, g, S, Post{ClipNegative: true, MeanThreshold: true})
	}
	return res, nil
}

// maxSpanCache bounds the TextSpan weights kept (about 0.9 MB per class
// for ViT-B/32 with every block).
const maxSpanCache = 32

// spanWeights returns (and caches) TextSpan's weights for a class.
func (s *Segmenter) spanWeights(class int, row []float32) (*spanWeights, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.spans[class]; ok {
		return w, nil
	}
	v := make([]float32, len(row))
	for k := range v {
		v[k] = row[k] - s.mean[k]
	}
	w, err := newSpanWeights(s.model, s.span, v)
	if err != nil {
		return nil, err
	}
	if len(s.spans) >= maxSpanCache {
		clear(s.spans)
	}
	s.spans[class] = w
	return w, nil
}

// neurons returns (and caches) the neurons of method me for a class.
func (s *Segmenter) neurons(me Method, class int, row []float32) ([]Neuron, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cache := s.selected
	if me == Random {
		cache = s.random
	}
	if ns, ok := cache[class]; ok {
		return ns, nil
	}
	var ns []Neuron
	var err error
	if me == Random {
		ns, err = RandomNeurons(s.dirs, s.cfg.layers, row, s.cfg.neurons, s.cfg.seed, uint64(class))
	} else {
		ns, err = SelectNeurons(s.dirs, s.cfg.layers, row, s.cfg.neurons)
	}
	if err != nil {
		return nil, err
	}
	cache[class] = ns
	return ns, nil
}

// Evaluate segments every sample of src and scores each method's heatmaps
// against the samples' masks, brought to the model's input by protocol p
// (see [ResizeMask]). visit, if not nil, is called after each sample with
// its result and the resized ground truth [S, S]; an error from it stops
// the run. ctx is checked between samples. Errors name the sample.
func (s *Segmenter) Evaluate(ctx context.Context, src Source, p MaskProtocol, visit func(i int, smp Sample, r *Result, truth []uint8) error) (*[NumMethods]Metrics, error) {
	var ms [NumMethods]Metrics
	S := s.model.Config.Vision.ImageSize
	for i := range src.Len() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		smp, err := src.Sample(i)
		if err != nil {
			return nil, err
		}
		truth, err := ResizeMask(smp.Mask, S, p)
		if err != nil {
			return nil, fmt.Errorf("segment: sample %s: %w", smp.Name, err)
		}
		r, err := s.Segment(ctx, smp.Image, smp.Class)
		if err != nil {
			return nil, fmt.Errorf("segment: sample %s: %w", smp.Name, err)
		}
		for me, h := range r.Heatmaps {
			if h != nil {
				ms[me].Add(h, truth)
			}
		}
		if visit != nil {
			if err := visit(i, smp, r, truth); err != nil {
				return nil, err
			}
		}
	}
	return &ms, nil
}
