package decompose

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadPool(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{name: "plain", in: "dog\ncat\n", want: []string{"dog", "cat"}},
		{name: "trailing white space", in: "the\t\nof  \r\nand\n", want: []string{"the", "of", "and"}},
		{name: "empty lines skipped", in: "\n\na\n   \n\t\nb", want: []string{"a", "b"}},
		{name: "leading space kept", in: "  a photo of a dog \n", want: []string{"  a photo of a dog"}},
		{name: "crlf, no final newline", in: "x y\r\nz", want: []string{"x y", "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadPool(strings.NewReader(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, p.Texts)
		})
	}
	_, err := ReadPool(strings.NewReader("\n \n\t\n"))
	assert.ErrorIs(t, err, ErrEmptyPool)
	_, err = LoadPool(filepath.Join(t.TempDir(), "missing.txt"))
	assert.ErrorContains(t, err, "missing.txt")

	a, _ := ReadPool(strings.NewReader("a\nb\n"))
	b, _ := ReadPool(strings.NewReader("a \n\nb"))
	c, _ := ReadPool(strings.NewReader("b\na\n"))
	assert.Equal(t, a.Fingerprint(), b.Fingerprint(), "same texts after parsing")
	assert.NotEqual(t, a.Fingerprint(), c.Fingerprint(), "order matters")
}

func TestEmbedMatchesEncodeText(t *testing.T) {
	m := tinyModel(t, 1)
	pool := &Pool{Texts: words(37, 1)}
	e, err := Embed(t.Context(), m, pool, WithBatch(8), WithWorkers(3))
	require.NoError(t, err)
	assert.Equal(t, 37, e.Encoded)
	want, err := m.EncodeText(pool.Texts)
	require.NoError(t, err)
	for i, g := range want {
		var s float64
		for _, v := range g {
			s += float64(v) * float64(v)
		}
		for k, v := range g {
			assert.InDelta(t, 100*float64(v)/math.Sqrt(s), float64(e.Row(i)[k]), 1e-4)
		}
	}
}

// TestEmbedCache checks resume after a cancel, and invalidation when the
// model's weights or the pool change.
func TestEmbedCache(t *testing.T) {
	m := tinyModel(t, 2)
	pool := &Pool{Texts: words(50, 2)}
	dir := t.TempDir()
	full, err := Embed(t.Context(), m, pool, WithBatch(10))
	require.NoError(t, err)

	// Cancel after the second batch: 20 texts are on disk.
	ctx, cancel := context.WithCancel(t.Context())
	_, err = Embed(ctx, m, pool, WithCache(dir), WithBatch(10), WithProgress(func(done, total int) {
		if done == 20 {
			cancel()
		}
	}))
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	files, _ := filepath.Glob(filepath.Join(dir, "batch_*.npy"))
	assert.Len(t, files, 2)

	resumed, err := Embed(t.Context(), m, pool, WithCache(dir), WithBatch(10))
	require.NoError(t, err)
	assert.Equal(t, 30, resumed.Encoded, "resumes after the two finished batches")
	assert.Equal(t, full.Data, resumed.Data)

	again, err := Embed(t.Context(), m, pool, WithCache(dir), WithBatch(10))
	require.NoError(t, err)
	assert.Equal(t, 0, again.Encoded, "all from the cache")
	assert.Equal(t, full.Data, again.Data)

	t.Run("model weights change", func(t *testing.T) {
		m2 := tinyModel(t, 2)
		m2.Text.Blocks[1].MLP.CProj.W.Data().F32()[5] += 0.25
		assert.NotEqual(t, ModelFingerprint(m), ModelFingerprint(m2))
		e, err := Embed(t.Context(), m2, pool, WithCache(dir), WithBatch(10))
		require.NoError(t, err)
		assert.Equal(t, 50, e.Encoded, "cache invalidated")
		assert.NotEqual(t, full.Data, e.Data)
		// And back: the cache now holds m2's embeddings, so m encodes again.
		e, err = Embed(t.Context(), m, pool, WithCache(dir), WithBatch(10))
		require.NoError(t, err)
		assert.Equal(t, 50, e.Encoded)
		assert.Equal(t, full.Data, e.Data)
	})
	t.Run("pool changes", func(t *testing.T) {
		p2 := &Pool{Texts: append([]string{"zebra"}, pool.Texts[1:]...)}
		e, err := Embed(t.Context(), m, p2, WithCache(dir), WithBatch(10))
		require.NoError(t, err)
		assert.Equal(t, 50, e.Encoded, "cache invalidated")
		assert.Equal(t, full.Data[16:], e.Data[16:], "other texts embed the same")
		assert.NotEqual(t, full.Data[:16], e.Data[:16])
		stale, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
		assert.Contains(t, string(stale), p2.Fingerprint())
	})
	t.Run("corrupt batch file is recomputed", func(t *testing.T) {
		_, err := Embed(t.Context(), m, pool, WithCache(dir), WithBatch(10))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "batch_000003.npy"), []byte("junk"), 0o644))
		e, err := Embed(t.Context(), m, pool, WithCache(dir), WithBatch(10))
		require.NoError(t, err)
		assert.Equal(t, 10, e.Encoded)
		assert.Equal(t, full.Data, e.Data)
	})
}

func TestEmbedErrors(t *testing.T) {
	m := tinyModel(t, 3)
	_, err := Embed(t.Context(), m, &Pool{})
	assert.ErrorIs(t, err, ErrEmptyPool)
	m.SetTokenizer(nil)
	_, err = Embed(t.Context(), m, &Pool{Texts: []string{"a"}})
	assert.Error(t, err)
	_, err = Embed(t.Context(), nil, &Pool{Texts: []string{"a"}})
	assert.Error(t, err)
}
