package decompose

import (
	"flag"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/parallel"
)

const (
	sharedVocab = "../../shared/data/clip/bpe_simple_vocab_16e6.txt.gz"
	sharedPool  = "../../shared/data/textpools/30k.txt"
)

var benchTexts = flag.Int("decompose.texts", 0, "BenchmarkEmbed30k: encode only n texts spread evenly over the pool, every (30000/n)-th (0: all)")

// b32Text is a random ViT-B/32 (both towers, as clip.ViTB32) with CLIP's
// tokenizer, built once.
var b32Text = sync.OnceValues(func() (*clip.Model, error) {
	tok, err := clip.LoadTokenizer(sharedVocab)
	if err != nil {
		return nil, err
	}
	m, err := clip.New(clip.ViTB32())
	if err != nil {
		return nil, err
	}
	m.InitRandom(1)
	m.SetTokenizer(tok)
	return m, nil
})

func benchModel(b *testing.B) *clip.Model {
	for _, p := range []string{sharedVocab, sharedPool} {
		if _, err := os.Stat(p); err != nil {
			b.Skipf("shared data absent (%s): these benchmarks need ../shared/data", p)
		}
	}
	m, err := b32Text()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkEmbed30k encodes the 30k-word pool with a random ViT-B/32 text
// tower (no cache): texts/s by wall clock and per CPU second.
func BenchmarkEmbed30k(b *testing.B) {
	m := benchModel(b)
	pool, err := LoadPool(sharedPool)
	if err != nil {
		b.Fatal(err)
	}
	if n := *benchTexts; n > 0 && n < len(pool.Texts) {
		step := len(pool.Texts) / n
		var sub []string
		for i := 0; len(sub) < n; i += step {
			sub = append(sub, pool.Texts[i])
		}
		pool.Texts = sub
	}
	var tokens int
	for _, s := range pool.Texts {
		ids, _ := m.Tokenize(s)
		tokens += len(trimPadding(ids))
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Embed(b.Context(), m, pool); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * len(pool.Texts))
	b.ReportMetric(n/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(n/(cpuTime()-cpu0).Seconds(), "texts/cpu-s")
	b.ReportMetric(float64(tokens)/float64(len(pool.Texts)), "tokens/text")
}

// BenchmarkEncodeFullContext encodes 64 texts of 77 tokens (SOT, 75 random
// ids, EOT), the full-context pass PyTorch's encode_text always makes, for
// the ratio to testdata/decompose/bench_torch_text.py.
func BenchmarkEncodeFullContext(b *testing.B) {
	m := benchModel(b)
	r := rand.New(rand.NewPCG(1, 1))
	const n = 64
	ids := make([][]int, n)
	for i := range ids {
		ids[i] = make([]int, 77)
		ids[i][0], ids[i][76] = 49406, 49407
		for j := 1; j < 76; j++ {
			ids[i][j] = 1 + r.IntN(49000)
		}
	}
	cpu0 := cpuTime()
	for b.Loop() {
		err := parallel.For(b.Context(), n, runtime.GOMAXPROCS(0), func(_, i int) error {
			_, err := m.RunTokens(b.Context(), ids[i], nil)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric(float64(b.N*n)/(cpuTime()-cpu0).Seconds(), "texts/cpu-s")
}
