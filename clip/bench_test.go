package clip

import (
	"context"
	"sync"
	"testing"
)

var (
	b32Once  sync.Once
	b32Model *Model
)

// randomViTB32 builds a ViT-B/32-shaped model with random weights once per
// test binary; nothing is stored.
func randomViTB32(b *testing.B) *Model {
	b32Once.Do(func() {
		m, err := New(ViTB32())
		if err != nil {
			b.Fatal(err)
		}
		m.InitRandom(1)
		b32Model = m
	})
	return b32Model
}

func BenchmarkEncodePixelsViTB32(b *testing.B) {
	m := randomViTB32(b)
	pixels := randomPixels(3*224*224, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.EncodePixels(pixels); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkEncodePixelsViTB32Batch16(b *testing.B) {
	m := randomViTB32(b)
	batch := make([][]float32, 16)
	for i := range batch {
		batch[i] = randomPixels(3*224*224, uint64(i))
	}
	b.ReportAllocs()
	for b.Loop() {
		err := parallel(context.Background(), len(batch), func(i int) error {
			_, err := m.EncodePixels(batch[i])
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkEncodeTokensViTB32Short encodes short prompts (SOT + 5 tokens +
// EOT, like "a photo of a cat"), which run only up to their EOT.
func BenchmarkEncodeTokensViTB32Short(b *testing.B) {
	m := randomViTB32(b)
	ids := make([]int, 77)
	copy(ids, []int{49406, 320, 1125, 539, 320, 2368, 49407})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.EncodeTokens(ids); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkEncodeTokensViTB32Full encodes a prompt whose EOT is last, the
// cost of a full-context pass.
func BenchmarkEncodeTokensViTB32Full(b *testing.B) {
	m := randomViTB32(b)
	ids := make([]int, 77)
	for i := range ids {
		ids[i] = 300 + i
	}
	ids[0], ids[76] = 49406, 49407
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.EncodeTokens(ids); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}
