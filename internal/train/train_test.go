package train

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/neuronlens/neuronlens/internal/shapes"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyRun returns a config and tokenizer for a few cheap steps.
func tinyRun(t *testing.T) (Config, *clip.Tokenizer) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteBPE(&buf, LearnBPE(Texts(1, 200), 1000)))
	tok, err := clip.ReadBPEMerges(&buf, -1)
	require.NoError(t, err)
	cfg := DefaultConfig(tok.VocabSize())
	cfg.Model.EmbedDim = 16
	cfg.Model.Vision = &clip.VisionConfig{ImageSize: 16, PatchSize: 8, Width: 16, Layers: 2, Heads: 2, MLPWidth: 32}
	cfg.Model.Text.Width, cfg.Model.Text.Layers, cfg.Model.Text.Heads, cfg.Model.Text.MLPWidth = 16, 2, 2, 32
	cfg.Steps, cfg.Batch, cfg.Shards, cfg.Warmup, cfg.EvalEvery, cfg.EvalImages = 3, 8, 3, 1, 0, 20
	cfg.PromptFrac = 0.3
	return cfg, tok
}

func weights(m *clip.Model) map[string][]float32 {
	out := map[string][]float32{}
	for k, t := range StateDict(m) {
		out[k] = append([]float32(nil), t.Data...)
	}
	return out
}

func TestRunIsDeterministic(t *testing.T) {
	cfg, tok := tinyRun(t)
	var losses [2][]float64
	run := func(procs, i int) map[string][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m, err := Run(t.Context(), cfg, tok, func(p Progress) { losses[i] = append(losses[i], p.Loss) })
		require.NoError(t, err)
		return weights(m)
	}
	a := run(1, 0)
	b := run(4, 1)
	require.Len(t, b, len(a))
	for k, w := range a {
		assert.Equal(t, w, b[k], "weights %q differ between runs", k) // bit for bit
	}
	assert.Equal(t, losses[0], losses[1])
	// The weights moved: a run that trains nothing would pass the above.
	m0, err := clip.New(cfg.Model)
	require.NoError(t, err)
	m0.InitRandom(cfg.Seed)
	assert.NotEqual(t, weights(m0)["visual.proj"], a["visual.proj"])
}

func TestSaveLoadsBack(t *testing.T) {
	cfg, tok := tinyRun(t)
	m, err := clip.New(cfg.Model)
	require.NoError(t, err)
	m.InitRandom(3)
	values := weights(m)
	values["logit_scale"][0] = 2.5 // not the initial value
	StateDict(m)["logit_scale"].Data[0] = 2.5
	path := filepath.Join(t.TempDir(), "m.safetensors")
	var buf bytes.Buffer
	require.NoError(t, Save(&buf, m, map[string]string{"note": "x"}))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	got, err := clip.Load(path)
	require.NoError(t, err)
	assert.Equal(t, cfg.Model.Vision, got.Config.Vision)
	assert.Equal(t, cfg.Model.Text, got.Config.Text)
	assert.Equal(t, cfg.Model.Activation, got.Config.Activation)
	assert.Equal(t, values, weights(got))
	got.SetTokenizer(tok)
	m.SetTokenizer(tok)
	img := shapes.HeldOut(1, 1).At(0).Image
	want, err := m.EncodeImage(img)
	require.NoError(t, err)
	e, err := got.EncodeImage(img)
	require.NoError(t, err)
	numtest.Close(t, want, e, 1e-6, 0, "image embedding")
}

func TestLearningRate(t *testing.T) {
	const n, w, lr, lo = 11, 2, 1.0, 0.1
	assert.InDelta(t, 0.5, learningRate(0, n, w, lr, lo), 1e-12)
	assert.InDelta(t, 1.0, learningRate(1, n, w, lr, lo), 1e-12)
	assert.InDelta(t, 1.0, learningRate(2, n, w, lr, lo), 1e-12)
	assert.InDelta(t, 0.55, learningRate(6, n, w, lr, lo), 1e-12) // halfway down the cosine
	assert.InDelta(t, 0.1, learningRate(10, n, w, lr, lo), 1e-12)
}

func TestAdamWFirstStep(t *testing.T) {
	// From zero moments, the first bias-corrected step is lr·g/(|g|+ε),
	// plus decay lr·λ·p where it applies.
	p := [][]float32{{1, -2}, {3}}
	g := [][]float32{{0.5, -4}, {2}}
	a := newAdamW([]int{2, 1}, 0.9, 0.98, 1e-8, 0.1)
	a.step(p, g, []bool{true, false}, 0.01)
	assert.InDelta(t, 1-0.01-0.01*0.1*1, p[0][0], 1e-6)
	assert.InDelta(t, -2+0.01-0.01*0.1*-2, p[0][1], 1e-6)
	assert.InDelta(t, 3-0.01, p[1][0], 1e-6)
}

func TestEvaluateRandomModelIsNearChance(t *testing.T) {
	cfg, tok := tinyRun(t)
	m, err := clip.New(cfg.Model)
	require.NoError(t, err)
	m.InitRandom(1)
	m.SetTokenizer(tok)
	q, err := Evaluate(context.Background(), m, shapes.HeldOut(1, 90), 30)
	require.NoError(t, err)
	assert.Equal(t, 90, q.Images)
	assert.Less(t, q.Accuracy, 0.4)
	assert.Less(t, q.R1, 0.3)
	assert.False(t, math.IsNaN(q.R1))
	_, err = Evaluate(context.Background(), m, shapes.HeldOut(1, 10), 30)
	assert.Error(t, err)
}
