package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

// Progress reports one finished step to the callback of [Run]. Quality is
// nil except on evaluation steps.
type Progress struct {
	Step, Steps int     // Step is 1-based
	Loss        float64 // the batch's contrastive loss, nats
	ClassLoss   float64 // the batch's class loss (before its weight), nats; 0 when off
	LR          float64 // the learning rate of the step
	Scale       float64 // exp(logit_scale) after the step
	GradNorm    float64 // L2 norm of the whole gradient, before clipping
	Elapsed     time.Duration
	Quality     *Quality
	// Model is the model under training; it may be read (evaluated, saved)
	// during the callback, and must not be kept.
	Model *clip.Model
}

// Run trains a model of cfg.Model from InitRandom(cfg.Seed) on
// shapes.Dataset(cfg.Seed) and returns it with tok as its tokenizer.
// progress, when not nil, is called after every step from Run's goroutine.
// Run checks ctx between steps and returns ctx.Err() when it is done.
func Run(ctx context.Context, cfg Config, tok *clip.Tokenizer, progress func(Progress)) (*clip.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tok == nil || tok.VocabSize() != cfg.Model.Text.VocabSize {
		return nil, fmt.Errorf("train: tokenizer vocabulary does not match the model's %d ids", cfg.Model.Text.VocabSize)
	}
	m, err := clip.New(cfg.Model)
	if err != nil {
		return nil, err
	}
	m.InitRandom(cfg.Seed)
	m.SetTokenizer(tok)
	t, err := newTrainer(m, cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for s := range cfg.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := t.step(s)
		if err != nil {
			return nil, err
		}
		p.Elapsed = time.Since(start)
		p.Model = m
		last := s == cfg.Steps-1
		if last || cfg.EvalEvery > 0 && (s+1)%cfg.EvalEvery == 0 {
			q, err := Evaluate(ctx, m, shapes.HeldOut(cfg.Seed, cfg.EvalImages), min(100, cfg.EvalImages))
			if err != nil {
				return nil, err
			}
			p.Quality = &q
		}
		if progress != nil {
			progress(p)
		}
	}
	return m, nil
}

// trainer holds the replicas, the optimizer and the data of a run.
type trainer struct {
	cfg      Config
	m        *clip.Model
	replicas []*clip.Model
	params   [][]*nn.Param // [replica][k]: the k-th parameter of each replica
	values   [][]float32   // the shared weights, per parameter
	decays   []bool
	grads    [][]float32
	opt      *adamW
	scaleK   int // index of LogitScale among the parameters
	data     shapes.Source
	prompts  [][]string // [class] → prompts
}

func newTrainer(m *clip.Model, cfg Config) (*trainer, error) {
	t := &trainer{cfg: cfg, m: m, data: shapes.Dataset(cfg.Seed, cfg.Steps*cfg.Batch)}
	sd := StateDict(m)
	for range cfg.Shards {
		r, err := clip.FromStateDict(sd, clip.WithActivation(cfg.Model.Activation),
			clip.WithHeads(cfg.Model.Vision.Heads, cfg.Model.Text.Heads))
		if err != nil {
			return nil, err
		}
		r.SetRequiresGrad(true)
		var ps []*nn.Param
		nn.ForEachParam(r, func(p *nn.Param) { ps = append(ps, p) })
		t.replicas = append(t.replicas, r)
		t.params = append(t.params, ps)
	}
	var sizes []int
	t.scaleK = -1
	for k, p := range t.params[0] {
		if p == t.replicas[0].LogitScale {
			t.scaleK = k
		}
		v := p.Data().F32()
		t.values = append(t.values, v)
		t.grads = append(t.grads, make([]float32, len(v)))
		sizes = append(sizes, len(v))
		sh := p.Shape()
		t.decays = append(t.decays, len(sh) == 2 && sh[0] > 1 && sh[1] > 1)
	}
	if t.scaleK < 0 {
		return nil, errors.New("train: no logit scale among the parameters")
	}
	// The replicas must share the master's weights, in the same order.
	for r := range t.params {
		for k, p := range t.params[r] {
			if &p.Data().F32()[0] != &t.values[k][0] {
				return nil, errors.New("train: replica does not share the model's weights")
			}
		}
	}
	t.opt = newAdamW(sizes, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay)
	for c := range shapes.NumShapes {
		t.prompts = append(t.prompts, shapes.Prompts(shapes.Shape(c)))
	}
	return t, nil
}

// Text returns the text paired with sample index i of a run with this seed:
// a class prompt with probability frac, else the caption.
func Text(seed uint64, frac float64, s shapes.Sample) string {
	r := rand.New(rand.NewPCG(seed^0x5eed7e47, s.Index))
	if r.Float64() < frac {
		ps := shapes.Prompts(s.Class)
		return ps[r.IntN(len(ps))]
	}
	return s.Caption
}

// shardOut is what one shard's forward pass leaves for the loss and the
// backward pass.
type shardOut struct {
	imgs, txts []mat.Tensor
	labels     []int
	cls        map[int]mat.Tensor // class → its prompt's embedding node
	err        error
}

// step runs optimizer step s (0-based).
func (t *trainer) step(s int) (Progress, error) {
	cfg := t.cfg
	B, S := cfg.Batch, cfg.Shards
	size := cfg.Model.Vision.ImageSize
	ctxLen := cfg.Model.Text.ContextLength
	tok := t.m.Tokenizer()
	bounds := func(r int) (int, int) { return r * B / S, (r + 1) * B / S }
	// One prompt per class for the class loss, its template drawn per step.
	var prompts []string
	if cfg.ClassWeight > 0 {
		rng := rand.New(rand.NewPCG(cfg.Seed^0xc1a55, uint64(s)))
		for c := range t.prompts {
			prompts = append(prompts, t.prompts[c][rng.IntN(len(t.prompts[c]))])
		}
	}
	outs := make([]shardOut, S)
	t.shards(func(r int) {
		lo, hi := bounds(r)
		o := &outs[r]
		pix := make([]mat.Tensor, 0, hi-lo)
		for i := lo; i < hi; i++ {
			smp := t.data.At(s*B + i)
			p, err := clip.Preprocess(smp.Image, size)
			if err != nil {
				o.err = err
				return
			}
			pix = append(pix, mat.NewDense[float32](mat.WithShape(len(p)), mat.WithBacking(p)))
			ids, err := tok.Encode(Text(cfg.Seed, cfg.PromptFrac, smp), ctxLen)
			if err != nil {
				o.err = err
				return
			}
			// One call per text: each then has its own token-embedding node,
			// so texts can go backward one at a time.
			o.txts = append(o.txts, t.replicas[r].ForwardTokens([][]int{ids})[0])
			o.labels = append(o.labels, int(smp.Class))
		}
		o.imgs = t.replicas[r].ForwardImages(pix)
		if cfg.ClassWeight > 0 {
			o.cls = map[int]mat.Tensor{}
			for c := r; c < len(prompts); c += S {
				ids, err := tok.Encode(prompts[c], ctxLen)
				if err != nil {
					o.err = err
					return
				}
				o.cls[c] = t.replicas[r].ForwardTokens([][]int{ids})[0]
			}
		}
	})
	var imgs, txts []mat.Tensor
	var labels []int
	cls := make([]mat.Tensor, len(prompts))
	for _, o := range outs {
		if o.err != nil {
			return Progress{}, o.err
		}
		imgs = append(imgs, o.imgs...)
		txts = append(txts, o.txts...)
		labels = append(labels, o.labels...)
		for c, x := range o.cls {
			cls[c] = x
		}
	}
	// The loss on detached copies: one operator, so its gradients are exact
	// and in a fixed order; they then flow into each graph separately.
	leaf := func(x mat.Tensor) mat.Tensor {
		v := append([]float32(nil), mat.Data[float32](x.Value())...)
		return mat.NewDense[float32](mat.WithShape(x.Shape()...), mat.WithBacking(v), mat.WithGrad(true))
	}
	li, lt := make([]mat.Tensor, B), make([]mat.Tensor, B)
	for i := range B {
		li[i], lt[i] = leaf(imgs[i]), leaf(txts[i])
	}
	scaleK := t.scaleK
	scale := mat.NewDense[float32](mat.WithShape(), mat.WithBacking([]float32{t.m.LogitScale.Data().F32()[0]}), mat.WithGrad(true))
	loss := clip.ContrastiveLoss(li, lt, scale)
	total := loss
	var lc []mat.Tensor
	var classValue float64
	if cfg.ClassWeight > 0 {
		lc = make([]mat.Tensor, len(cls))
		for c, x := range cls {
			lc[c] = leaf(x)
		}
		aux := classLoss(li, lc, labels, scale)
		classValue = float64(mat.Data[float32](aux.Value())[0])
		total = ag.Add(loss, ag.ProdScalar(aux, mat.Scalar(float32(cfg.ClassWeight))))
	}
	if err := ag.Backward(total); err != nil {
		return Progress{}, err
	}
	lossValue := float64(mat.Data[float32](loss.Value())[0])
	var errMu sync.Mutex
	var berr error
	t.shards(func(r int) {
		lo, hi := bounds(r)
		var pairs [][2]mat.Tensor // node, leaf
		for i := lo; i < hi; i++ {
			pairs = append(pairs, [2]mat.Tensor{imgs[i], li[i]}, [2]mat.Tensor{txts[i], lt[i]})
		}
		for c := r; c < len(lc); c += S {
			pairs = append(pairs, [2]mat.Tensor{cls[c], lc[c]})
		}
		for _, pair := range pairs {
			pair[0].AccGrad(pair[1].Grad())
			if err := ag.Backward(pair[0]); err != nil {
				errMu.Lock()
				berr = err
				errMu.Unlock()
				return
			}
		}
	})
	if berr != nil {
		return Progress{}, berr
	}
	// Sum the replicas' gradients in shard order.
	var ss float64
	for k := range t.grads {
		g := t.grads[k]
		clear(g)
		for r := range t.replicas {
			p := t.params[r][k]
			if !p.HasGrad() {
				continue
			}
			for j, v := range mat.Data[float32](p.Grad()) {
				g[j] += v
			}
			p.ZeroGrad()
		}
		if k == scaleK {
			g[0] += mat.Data[float32](scale.Grad())[0]
		}
		for _, v := range g {
			ss += float64(v) * float64(v)
		}
	}
	norm := math.Sqrt(ss)
	if cfg.ClipNorm > 0 && norm > cfg.ClipNorm {
		f := float32(cfg.ClipNorm / norm)
		for _, g := range t.grads {
			for j := range g {
				g[j] *= f
			}
		}
	}
	lr := learningRate(s, cfg.Steps, cfg.Warmup, cfg.LR, cfg.MinLR)
	t.opt.step(t.values, t.grads, t.decays, lr)
	ls := t.values[scaleK]
	ls[0] = min(max(ls[0], 0), float32(math.Log(100)))
	return Progress{Step: s + 1, Steps: cfg.Steps, Loss: lossValue, ClassLoss: classValue, LR: lr, Scale: math.Exp(float64(ls[0])), GradNorm: norm}, nil
}

// shards runs f(0..Shards-1) concurrently and waits.
func (t *trainer) shards(f func(r int)) {
	var wg sync.WaitGroup
	for r := range t.cfg.Shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(r)
		}()
	}
	wg.Wait()
}

// Texts returns every text a run can pair with an image, for learning the
// vocabulary: the captions of n samples, every class prompt, and the
// world's phrases.
func Texts(seed uint64, n int) []string {
	var out []string
	ds := shapes.Dataset(seed, n)
	for i := range n {
		out = append(out, ds.SceneAt(i).Caption())
	}
	for c := range shapes.NumShapes {
		out = append(out, shapes.Prompts(shapes.Shape(c))...)
	}
	out = append(out, shapes.Phrases()...)
	return append(out, strings.Join(shapes.Templates(), " "))
}
