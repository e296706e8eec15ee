package lens

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
)

// The alpha cache holds one float32 .npy file per image,
// img/<index>-<hash of id>.npy, of length d + Σ_layers (2·N·K + d):
//
//	f(I) [d], then per layer in the order of meta.json:
//	A [N, K] (s·α), W [N, K] (U_n C(I)), C(I) [d]
//
// Files are written atomically (npy.WriteFile), so a killed run leaves only
// whole files, and meta.json ties the cache to one model and one set of
// options.
type cache struct {
	dir    string
	layers []int
	Ks     []int
	N, d   int
	size   int // float32s per image
}

type cacheMeta struct {
	Format   string `json:"format"`
	Model    string `json:"model"` // fingerprint of the weights the lens reads
	Layers   []int  `json:"layers"`
	Raw      bool   `json:"raw_scale"`
	NoShared bool   `json:"without_shared_term"`
}

const cacheFormat = "neuronlens.lens.cache/1"

// fingerprint hashes the configuration and the weights the lens reads, so
// that a cache made with another model is refused.
func fingerprint(m *clip.Model) string {
	h := fnv.New64a()
	cfg, _ := json.Marshal(m.Config)
	h.Write(cfg)
	put := func(x []float32) {
		var b [4]byte
		for _, v := range x {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	vt := m.Visual
	put(vt.Proj.Data().F32())
	put(vt.LNPost.W.Data().F32())
	put(vt.LNPost.B.Data().F32())
	for _, b := range vt.Blocks {
		put(b.LN1.W.Data().F32())
		put(b.MLP.CProj.B.Data().F32())
		put(b.Attn.OutProj.B.Data().F32())
		w := b.MLP.CProj.W.Data().F32()
		put(w[:min(len(w), 4096)])
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// openCache prepares dir (creating it) for the given layers and options. An
// existing cache with other metadata is an error, never overwritten.
func openCache(dir string, m *clip.Model, layers []int, Ks []int, cfg *config) (*cache, error) {
	vc := m.Config.Vision
	c := &cache{dir: dir, layers: layers, Ks: Ks, N: vc.MLPWidth, d: m.Config.EmbedDim}
	c.size = c.d
	for _, K := range Ks {
		c.size += 2*c.N*K + c.d
	}
	meta := cacheMeta{Format: cacheFormat, Model: fingerprint(m), Layers: layers, Raw: cfg.raw, NoShared: cfg.noShared}
	if err := os.MkdirAll(filepath.Join(dir, "img"), 0o755); err != nil {
		return nil, fmt.Errorf("lens: cache: %w", err)
	}
	path := filepath.Join(dir, "meta.json")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		b, _ = json.MarshalIndent(meta, "", "  ")
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return nil, fmt.Errorf("lens: cache: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("lens: cache: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("lens: cache: %w", err)
	default:
		var have cacheMeta
		if err := json.Unmarshal(b, &have); err != nil {
			return nil, fmt.Errorf("lens: cache %s: %w", path, err)
		}
		if have.Format != meta.Format || have.Model != meta.Model || !slices.Equal(have.Layers, meta.Layers) ||
			have.Raw != meta.Raw || have.NoShared != meta.NoShared {
			return nil, fmt.Errorf("lens: cache %s was made for another model, layers or options (%+v, want %+v)", dir, have, meta)
		}
	}
	return c, nil
}

func (c *cache) path(i int, id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return filepath.Join(c.dir, "img", fmt.Sprintf("%08d-%016x.npy", i, h.Sum64()))
}

// load returns the record of image i, read into dst's array when it is
// large enough, or false when there is none (or it is unreadable, in which
// case it is recomputed and replaced). dst may be overwritten either way.
func (c *cache) load(i int, id string, dst []float32) ([]float32, bool) {
	x, _, err := npy.ReadFloat32File(c.path(i, id), dst)
	if err != nil || len(x) != c.size {
		return nil, false
	}
	return x, true
}

func (c *cache) store(i int, id string, x []float32) error {
	if err := npy.WriteFile(c.path(i, id), []int{len(x)}, x); err != nil {
		return fmt.Errorf("lens: cache: %w", err)
	}
	return nil
}

// layerView is one layer's part of a flat record.
type layerView struct{ A, W, C []float32 }

// split cuts a flat record into f and per-layer views.
func (c *cache) split(x []float32) (f []float32, ls []layerView) {
	f, x = x[:c.d], x[c.d:]
	ls = make([]layerView, len(c.Ks))
	for j, K := range c.Ks {
		nk := c.N * K
		ls[j] = layerView{A: x[:nk], W: x[nk : 2*nk], C: x[2*nk : 2*nk+c.d]}
		x = x[2*nk+c.d:]
	}
	return f, ls
}

// compute runs the forward pass of pixels and fills a flat record.
func (c *cache) compute(dst []float32, cp *capture, us []*secondU, bases []*deviceBasis, cfg *config) {
	f, ls := c.split(dst)
	copy(f, cp.f)
	for j, u := range us {
		r := record{A: ls[j].A, C: ls[j].C}
		u.record(&r, cp, cfg)
		u.recordW(bases[j], ls[j].W, &r, cp, cfg)
	}
}
