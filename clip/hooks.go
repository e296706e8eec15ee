package clip

import (
	"fmt"
	"strconv"
	"strings"
)

// Site is a named place inside a residual block, or after the last one,
// where an activation can be read or changed. Shapes use T tokens, D width,
// H heads and N MLP neurons.
type Site uint8

const (
	// ResidPre is the residual stream entering the block, [T, D].
	ResidPre Site = iota
	// LN1Mean is ln_1's mean per token, [T].
	LN1Mean
	// LN1Scale is ln_1's σ = sqrt(var + 1e-5) per token, [T].
	LN1Scale
	// AttnPattern is the post-softmax attention, [H, T, T]: head h, query q,
	// key k at row h*T+q, column k.
	AttnPattern
	// AttnOut is the attention output after out_proj, added to the stream, [T, D].
	AttnOut
	// ResidMid is the residual stream between attention and MLP, [T, D].
	ResidMid
	// MLPPre is the MLP hidden layer before the activation, [T, N].
	MLPPre
	// MLPPost is the MLP hidden layer after the activation (the "neurons"), [T, N].
	MLPPost
	// MLPOut is the MLP output after c_proj, added to the stream, [T, D].
	MLPOut
	// ResidPost is the residual stream leaving the block, [T, D].
	ResidPost
	// LNPostMean is the final LayerNorm's mean (ln_post, or ln_final in the
	// text tower) at the pooled token, [1]. Its Point's Layer is ignored.
	LNPostMean
	// LNPostScale is the final LayerNorm's σ at the pooled token, [1].
	LNPostScale

	numSites
)

var siteNames = [numSites]string{
	ResidPre:    "hook_resid_pre",
	LN1Mean:     "ln1.hook_mean",
	LN1Scale:    "ln1.hook_scale",
	AttnPattern: "attn.hook_pattern",
	AttnOut:     "hook_attn_out",
	ResidMid:    "hook_resid_mid",
	MLPPre:      "mlp.hook_pre",
	MLPPost:     "mlp.hook_post",
	MLPOut:      "hook_mlp_out",
	ResidPost:   "hook_resid_post",
	LNPostMean:  "ln_post.hook_mean",
	LNPostScale: "ln_post.hook_scale",
}

// final reports whether s belongs to the final LayerNorm rather than a block.
func (s Site) final() bool { return s == LNPostMean || s == LNPostScale }

// Point names one site: Layer is the block index (0-based), ignored for the
// final LayerNorm's sites.
type Point struct {
	Layer int
	Site  Site
}

// String gives the TransformerLens-style name, "blocks.9.mlp.hook_post" or
// "ln_post.hook_scale".
func (p Point) String() string {
	if p.Site >= numSites {
		return fmt.Sprintf("Point(%d, Site(%d))", p.Layer, p.Site)
	}
	if p.Site.final() {
		return siteNames[p.Site]
	}
	return "blocks." + strconv.Itoa(p.Layer) + "." + siteNames[p.Site]
}

// ParsePoint reads a name written by [Point.String]. Unknown names are an
// error; no aliases are guessed.
func ParsePoint(s string) (Point, error) {
	for site, name := range siteNames {
		if Site(site).final() && s == name {
			return Point{Site: Site(site)}, nil
		}
	}
	rest, ok := strings.CutPrefix(s, "blocks.")
	if ok {
		num, name, ok := strings.Cut(rest, ".")
		layer, err := strconv.Atoi(num)
		if ok && err == nil && layer >= 0 && num == strconv.Itoa(layer) {
			for site, n := range siteNames {
				if !Site(site).final() && n == name {
					return Point{Layer: layer, Site: Site(site)}, nil
				}
			}
		}
	}
	return Point{}, fmt.Errorf("clip: unknown hook point %q", s)
}

// Act is a row-major view of one activation, valid only during the hook
// call: element (r, c) is Data[r*Cols+c]. See each [Site] for its shape;
// [H, T, T] patterns have Rows = H*T.
type Act struct {
	Rows, Cols int
	Data       []float32
}

// Hook reads a, or edits it in place to change what flows on (ablation,
// patching). Edits at the statistics sites (LN1Mean, LN1Scale, LNPostMean,
// LNPostScale) change nothing: those report values already applied. A hook
// must not keep a.Data after it returns.
type Hook func(p Point, a *Act)

// Hooks is a set of hooks for one forward pass. The zero value runs nothing.
// Hooks is not safe for concurrent use; give each goroutine its own.
type Hooks struct {
	at map[Point][]Hook
}

// On adds f at p; hooks at one point run in the order they were added.
func (h *Hooks) On(p Point, f Hook) {
	if h.at == nil {
		h.at = make(map[Point][]Hook)
	}
	if p.Site.final() {
		p.Layer = 0
	}
	h.at[p] = append(h.at[p], f)
}

// hookTable is Hooks resolved for a tower of a given depth: one nil check per
// site with no hook.
type hookTable struct {
	blocks [][numSites][]Hook
	final  [numSites][]Hook
}

// resolve checks every point against the number of layers and builds the table.
func (h *Hooks) resolve(layers int) (*hookTable, error) {
	if h == nil || len(h.at) == 0 {
		return nil, nil
	}
	t := &hookTable{blocks: make([][numSites][]Hook, layers)}
	for p, fs := range h.at {
		switch {
		case p.Site >= numSites:
			return nil, fmt.Errorf("clip: hook at unknown site %d", p.Site)
		case p.Site.final():
			t.final[p.Site] = fs
		case p.Layer < 0 || p.Layer >= layers:
			return nil, fmt.Errorf("clip: hook point %v: the tower has %d blocks", p, layers)
		default:
			t.blocks[p.Layer][p.Site] = fs
		}
	}
	return t, nil
}

// fire runs the hooks at (layer, site) on data viewed as [rows, cols].
func (t *hookTable) fire(layer int, s Site, data []float32, rows, cols int) {
	if t == nil {
		return
	}
	var fs []Hook
	if s.final() {
		fs = t.final[s]
	} else {
		fs = t.blocks[layer][s]
	}
	if len(fs) == 0 {
		return
	}
	a := Act{Rows: rows, Cols: cols, Data: data[:rows*cols]}
	p := Point{Layer: layer, Site: s}
	if s.final() {
		p.Layer = 0
	}
	for _, f := range fs {
		f(p, &a)
	}
}

// fireSeqs fires (layer, s) once per sequence of q, in order, on that
// sequence's rows of data [R, cols], viewed as [T_b, cols].
func (t *hookTable) fireSeqs(layer int, s Site, data []float32, q *seqs, cols int) {
	if t == nil {
		return
	}
	for b, T := range q.lens {
		r := q.rows[b]
		t.fire(layer, s, data[r*cols:(r+T)*cols], T, cols)
	}
}

// firePatterns fires (layer, AttnPattern) once per sequence of q on its
// patterns [H, T_b, T_b], viewed as [H·T_b, T_b].
func (t *hookTable) firePatterns(layer int, scores []float32, q *seqs, H int) {
	if t == nil {
		return
	}
	for b, T := range q.lens {
		t.fire(layer, AttnPattern, scores[H*q.pats[b]:], H*T, T)
	}
}

// Trace records activations at chosen points: it is nothing but hooks that
// copy. Reuse one Trace across calls to reuse its buffers. Not safe for
// concurrent use.
type Trace struct {
	saved map[Point]*Act
}

// Keep adds to h a copying hook at each point. Hooks added to h before Keep
// run first, so a trace sees their edits.
func (tr *Trace) Keep(h *Hooks, points ...Point) {
	if tr.saved == nil {
		tr.saved = make(map[Point]*Act)
	}
	for _, p := range points {
		if p.Site.final() {
			p.Layer = 0
		}
		h.On(p, tr.copyHook)
	}
}

func (tr *Trace) copyHook(p Point, a *Act) {
	s := tr.saved[p]
	if s == nil {
		s = &Act{}
		tr.saved[p] = s
	}
	n := a.Rows * a.Cols
	if cap(s.Data) < n {
		s.Data = make([]float32, n)
	}
	s.Rows, s.Cols, s.Data = a.Rows, a.Cols, s.Data[:n]
	copy(s.Data, a.Data)
}

// At returns the activation recorded at p in the last run, and whether there
// was one. The Act stays valid until the next run that uses this Trace.
func (tr *Trace) At(p Point) (*Act, bool) {
	if p.Site.final() {
		p.Layer = 0
	}
	a, ok := tr.saved[p]
	return a, ok
}
