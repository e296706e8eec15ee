package clip

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
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

// cpuTime is the user plus system CPU time of the whole process so far,
// every thread included. On a shared machine it is disturbed far less than
// wall time by other jobs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// throughput times the b.Loop body and reports items/s (wall) and
// items/cpu-s (process CPU time), for n items per iteration.
type throughput struct {
	b     *testing.B
	cpu0  time.Duration
	unit  string
	items int
}

func startThroughput(b *testing.B, unit string, items int) *throughput {
	b.ReportAllocs()
	return &throughput{b: b, unit: unit, items: items}
}

func (t *throughput) loop() bool {
	if t.cpu0 == 0 {
		t.cpu0 = cpuTime()
	}
	if t.b.Loop() {
		return true
	}
	n := float64(t.items * t.b.N)
	t.b.ReportMetric(n/t.b.Elapsed().Seconds(), t.unit+"/s")
	t.b.ReportMetric(n/(cpuTime()-t.cpu0).Seconds(), t.unit+"/cpu-s")
	return false
}

// BenchmarkEncodePixelsViTB32 is one preprocessed 224×224 image at a time
// through a random ViT-B/32 image tower.
func BenchmarkEncodePixelsViTB32(b *testing.B) {
	m := randomViTB32(b)
	pixels := randomPixels(3*224*224, 1)
	if _, err := m.EncodePixels(pixels); err != nil { // warm up: scratch and pack buffers
		b.Fatal(err)
	}
	for t := startThroughput(b, "images", 1); t.loop(); {
		if _, err := m.EncodePixels(pixels); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePixelsViTB32Batch16 is 16 images per call of
// EncodePixelsBatch: one batched pass over a [16·50, 768] stream.
func BenchmarkEncodePixelsViTB32Batch16(b *testing.B) {
	m := randomViTB32(b)
	batch := make([][]float32, 16)
	for i := range batch {
		batch[i] = randomPixels(3*224*224, uint64(i))
	}
	if _, err := m.EncodePixelsBatch(context.Background(), batch); err != nil { // warm up
		b.Fatal(err)
	}
	for t := startThroughput(b, "images", len(batch)); t.loop(); {
		if _, err := m.EncodePixelsBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// shortPrompts returns n distinct prompts of the form "a photo of a red
// dog.", 7–9 tokens with SOT and EOT.
func shortPrompts(n int) []string {
	adj := []string{"red", "small", "old", "happy", "wet", "dark", "big", "blue", "wooden", "tiny"}
	noun := []string{"dog", "cat", "car", "house", "tree", "boat", "bird", "chair", "horse", "cup"}
	what := []string{"a photo of", "a picture of", "an image of", "a drawing of", "a close-up of",
		"a painting of", "a sketch of", "a render of", "a snapshot of", "a cropped photo of"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s a %s %s.", what[i/100%10], adj[i/10%10], noun[i%10])
	}
	return out
}

// BenchmarkEncodeText1000Short tokenizes and encodes 1,000 short prompts
// with the text tower of a random ViT-B/32 (CLIP's BPE vocabulary); each
// runs only up to its EOT.
func BenchmarkEncodeText1000Short(b *testing.B) {
	if _, err := os.Stat(sharedVocab); err != nil {
		b.Skipf("no CLIP vocabulary at %s", sharedVocab)
	}
	m := randomViTB32(b)
	if m.Tokenizer() == nil {
		tok, err := LoadTokenizer(sharedVocab)
		if err != nil {
			b.Fatal(err)
		}
		m.SetTokenizer(tok)
	}
	texts := shortPrompts(1000)
	if _, err := m.EncodeText(texts); err != nil { // warm up, and the tokenizer's cache
		b.Fatal(err)
	}
	for t := startThroughput(b, "texts", len(texts)); t.loop(); {
		if _, err := m.EncodeText(texts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeTokensViTB32Short encodes short prompts (SOT + 5 tokens +
// EOT, like "a photo of a cat"), which run only up to their EOT.
func BenchmarkEncodeTokensViTB32Short(b *testing.B) {
	m := randomViTB32(b)
	ids := make([]int, 77)
	copy(ids, []int{49406, 320, 1125, 539, 320, 2368, 49407})
	for t := startThroughput(b, "texts", 1); t.loop(); {
		if _, err := m.EncodeTokens(ids); err != nil {
			b.Fatal(err)
		}
	}
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
	for t := startThroughput(b, "texts", 1); t.loop(); {
		if _, err := m.EncodeTokens(ids); err != nil {
			b.Fatal(err)
		}
	}
}
