package decompose

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/nlpodyssey/spago/nn"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

// Scale is the length of every text embedding of a pool: texts are encoded
// raw (no template), L2-normalized and multiplied by 100, as the reference
// does (METHOD.md §3).
const Scale = 100

// Embeddings are the text-tower embeddings of a pool.
type Embeddings struct {
	Texts []string // the pool's texts; row i embeds Texts[i]
	Dim   int      // d, the joint embedding dimension
	// Data is [M, d], row-major: text i at Data[i*Dim:(i+1)*Dim], each row
	// 100·g/‖g‖ with g the un-normalized text embedding (a zero g stays 0).
	Data []float32
	// Encoded is the number of texts this call ran through the text tower;
	// the others were read from the cache of [WithCache].
	Encoded int
}

// Row returns the embedding of text i, [d], a view into Data.
func (e *Embeddings) Row(i int) []float32 { return e.Data[i*e.Dim : (i+1)*e.Dim] }

const cacheFormat = "neuronlens.decompose.embeddings/1"

// manifest is the cache's manifest.json.
type manifest struct {
	Format string `json:"format"`
	Model  string `json:"model"`  // fingerprint of the text tower
	Tokens string `json:"tokens"` // fingerprint of the pool's token ids
	Pool   string `json:"pool"`   // fingerprint of the pool's texts
	Texts  int    `json:"texts"`
	Dim    int    `json:"dim"`
	Batch  int    `json:"batch"`
}

// Embed encodes every text of pool with m's text tower, raw (no template),
// and returns the embeddings normalized and scaled to length [Scale].
//
// Texts are tokenized first (their ids enter the cache key, so a different
// tokenizer invalidates the cache), then encoded in batches of [WithBatch]
// texts spread over [WithWorkers] goroutines. ctx is checked between texts;
// with [WithCache] every finished batch is on disk, and a later call with the
// same model and pool resumes from there. Progress goes to [WithProgress].
//
// Errors: a model without text tower or tokenizer, an empty pool, a
// cancelled context, unreadable or unwritable cache files.
func Embed(ctx context.Context, m *clip.Model, pool *Pool, opts ...Option) (*Embeddings, error) {
	if m == nil || m.Text == nil {
		return nil, errors.New("decompose: model has no text tower")
	}
	if m.Tokenizer() == nil {
		return nil, fmt.Errorf("decompose: %w", clip.ErrNoTokenizer)
	}
	if pool == nil || len(pool.Texts) == 0 {
		return nil, fmt.Errorf("decompose: %w", ErrEmptyPool)
	}
	cfg := newConfig(opts)
	M, d := len(pool.Texts), m.Config.EmbedDim
	ids := make([][]int, M)
	err := parallel.For(ctx, M, cfg.workers, func(_, i int) error {
		t, err := m.Tokenize(pool.Texts[i])
		if err != nil {
			return fmt.Errorf("decompose: text %d %q: %w", i, pool.Texts[i], err)
		}
		ids[i] = trimPadding(t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	man := manifest{Format: cacheFormat, Model: ModelFingerprint(m), Tokens: tokensFingerprint(ids),
		Pool: pool.Fingerprint(), Texts: M, Dim: d, Batch: cfg.batch}
	if cfg.cacheDir != "" {
		if err := openCache(cfg.cacheDir, man); err != nil {
			return nil, err
		}
	}
	e := &Embeddings{Texts: pool.Texts, Dim: d, Data: make([]float32, M*d)}
	nb := (M + cfg.batch - 1) / cfg.batch
	for b := range nb {
		lo, hi := b*cfg.batch, min((b+1)*cfg.batch, M)
		dst := e.Data[lo*d : hi*d]
		path := ""
		if cfg.cacheDir != "" {
			path = filepath.Join(cfg.cacheDir, fmt.Sprintf("batch_%06d.npy", b))
			if readBatch(path, dst, hi-lo, d) {
				if cfg.progress != nil {
					cfg.progress(hi, M)
				}
				continue
			}
		}
		// One batched pass: the texts' tokens, each cut at its EOT, share
		// every matrix product (clip.Model.EncodeTokensBatch).
		gs, err := m.EncodeTokensBatch(ctx, ids[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("decompose: texts %d–%d: %w", lo, hi-1, err)
		}
		for i, g := range gs {
			scaleTo(dst[i*d:(i+1)*d], g)
		}
		e.Encoded += hi - lo
		if path != "" {
			if err := npy.WriteFile(path, []int{hi - lo, d}, dst); err != nil {
				return nil, fmt.Errorf("decompose: cache: %w", err)
			}
		}
		if cfg.progress != nil {
			cfg.progress(hi, M)
		}
	}
	return e, nil
}

// scaleTo writes Scale·g/‖g‖ into dst, computed in float64.
func scaleTo(dst, g []float32) {
	var s float64
	for _, v := range g {
		s += float64(v) * float64(v)
	}
	f := 0.0
	if s > 0 {
		f = Scale / math.Sqrt(s)
	}
	for k, v := range g {
		dst[k] = float32(float64(v) * f)
	}
}

// trimPadding drops the zero padding after the EOT token (the largest id).
func trimPadding(ids []int) []int {
	eot := 0
	for i, id := range ids {
		if id > ids[eot] {
			eot = i
		}
	}
	return ids[:eot+1]
}

// openCache makes dir hold a cache for man: it keeps the batch files of a
// matching manifest and removes them otherwise.
func openCache(dir string, man manifest) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("decompose: cache: %w", err)
	}
	path := filepath.Join(dir, "manifest.json")
	if b, err := os.ReadFile(path); err == nil {
		var old manifest
		if json.Unmarshal(b, &old) == nil && old == man {
			return nil
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("decompose: cache: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "batch_") && strings.HasSuffix(n, ".npy") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("decompose: cache: %w", err)
			}
		}
	}
	b, err := json.MarshalIndent(man, "", " ")
	if err != nil {
		return fmt.Errorf("decompose: cache: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("decompose: cache: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("decompose: cache: %w", err)
	}
	return nil
}

// readBatch fills dst [rows, d] from a cache file; false if the file is
// missing or not a float32 [rows, d] array (it is then rewritten).
func readBatch(path string, dst []float32, rows, d int) bool {
	a, err := npy.ReadFile(path)
	if err != nil || len(a.Shape) != 2 || a.Shape[0] != rows || a.Shape[1] != d {
		return false
	}
	copy(dst, a.Float32())
	return true
}

// ModelFingerprint returns a hex SHA-256 of everything in m that decides a
// text embedding: the embedding dimension, the activation, the text tower's
// configuration and all its weights (token and positional embeddings, every
// block, the final LayerNorm and the projection). Hashing ViT-B/32's text
// tower (63 M float32) takes a fraction of a second.
func ModelFingerprint(m *clip.Model) string {
	h := sha256.New()
	c := m.Config
	fmt.Fprintf(h, "embed=%d act=%v", c.EmbedDim, c.Activation)
	if c.Text == nil || m.Text == nil {
		h.Write([]byte(" no text tower"))
		return hex.EncodeToString(h.Sum(nil))
	}
	fmt.Fprintf(h, " text=%+v", *c.Text)
	t := m.Text
	buf := make([]byte, 0, 64<<10)
	params := []*nn.Param{t.TokenEmbedding, t.PositionalEmbedding}
	for _, b := range t.Blocks {
		params = append(params, b.LN1.W, b.LN1.B, b.Attn.InProj.W, b.Attn.InProj.B,
			b.Attn.OutProj.W, b.Attn.OutProj.B, b.LN2.W, b.LN2.B,
			b.MLP.CFC.W, b.MLP.CFC.B, b.MLP.CProj.W, b.MLP.CProj.B)
		fmt.Fprintf(h, " heads=%d", b.Attn.Heads)
	}
	params = append(params, t.LNFinal.W, t.LNFinal.B, t.TextProjection)
	for _, p := range params {
		buf = hashFloats(h, buf, p.Data().F32())
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashFloats writes x little-endian into h through buf.
func hashFloats(h hash.Hash, buf []byte, x []float32) []byte {
	h.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(len(x))))
	for len(x) > 0 {
		n := min(len(x), cap(buf)/4)
		buf = buf[:0]
		for _, v := range x[:n] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		h.Write(buf)
		x = x[n:]
	}
	return buf
}

func tokensFingerprint(ids [][]int) string {
	h := sha256.New()
	buf := make([]byte, 0, 4*80)
	for _, t := range ids {
		buf = buf[:0]
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(t)))
		for _, id := range t {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(id))
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}
