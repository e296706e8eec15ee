package lens

import (
	"image"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/neuronlens/neuronlens/clip"
)

var (
	b32Once  sync.Once
	b32Model *clip.Model
)

// b32 is a random ViT-B/32 (clip.ViTB32 + InitRandom(1)), built once.
func b32(b *testing.B) *clip.Model {
	b32Once.Do(func() {
		m, err := clip.New(clip.ViTB32())
		if err != nil {
			b.Fatal(err)
		}
		m.InitRandom(1)
		b32Model = m
	})
	return b32Model
}

// peakRSS returns the process's peak resident set (VmHWM) in MiB, or 0.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkEncodeB32 is the forward pass alone, the baseline of
// BenchmarkSecondOrderB32.
func BenchmarkEncodeB32(b *testing.B) {
	m := b32(b)
	px := randomPixels(m, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.EncodePixels(px); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkSecondOrderB32 is SecondOrderPixels for layer 9, forward pass
// included, u vectors built before the timer starts.
func BenchmarkSecondOrderB32(b *testing.B) {
	m := b32(b)
	px := randomPixels(m, 1)
	if _, err := SecondOrderPixels(m, px, 9); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SecondOrderPixels(m, px, 9); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkBuildUB32 is the one-time cost of the u vectors of layer 9.
func BenchmarkBuildUB32(b *testing.B) {
	m := b32(b)
	for b.Loop() {
		buildSecond(m, 9)
	}
}

// BenchmarkAnalyzeB32 runs Analyze over ANALYZE_IMAGES (default 32) random
// 224×224 images for layers 8–10 with a fresh temporary cache each time;
// it reports images/s (all three phases, u vectors prebuilt), the first
// phase's rate (effects-images/s) and the process's peak RSS.
func BenchmarkAnalyzeB32(b *testing.B) {
	m := b32(b)
	n := 32
	if s := os.Getenv("ANALYZE_IMAGES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, l := range []int{8, 9, 10} {
		if _, err := gramOf(m, l); err != nil {
			b.Fatal(err)
		}
	}
	src := Generator(n, func(i int) (image.Image, error) { return randomImage(uint64(i), 224, 224), nil })
	rates := map[string]float64{}
	progress := WithProgress(func(p ProgressReport) {
		if p.Done == p.Total {
			rates[p.Phase] = p.PerSecond
		}
	})
	for b.Loop() {
		if _, err := Analyze(b.Context(), m, src, WithLayers(8, 9, 10), progress); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(rates["effects"], "effects-images/s")
	b.ReportMetric(peakRSS(), "peak-MiB")
}

// BenchmarkLensOnlyB32 is the lens's own work for layer 9 on one image,
// without the forward pass: alphas, C(I) and the N×d expansion.
func BenchmarkLensOnlyB32(b *testing.B) {
	m := b32(b)
	u, err := secondOf(m, 9)
	if err != nil {
		b.Fatal(err)
	}
	c := newCapture(m, []int{9})
	if err := c.run(b.Context(), m, randomPixels(m, 1)); err != nil {
		b.Fatal(err)
	}
	cfg := newConfig(nil)
	var r record
	b.ReportAllocs()
	for b.Loop() {
		u.record(&r, c, cfg)
		u.effects(&r, cfg.workers)
	}
}

// BenchmarkIndirectB32 is IndirectPixels for 96 neurons of layer 9 of a
// random ViT-B/32 (mean-ablation, means of zero), forward pass included;
// neurons/s is the rate over ablated neurons.
func BenchmarkIndirectB32(b *testing.B) {
	m := b32(b)
	px := randomPixels(m, 1)
	vc := m.Config.Vision
	means := make([]float32, vc.Tokens()*vc.MLPWidth)
	sel := make([]int, 96)
	for i := range sel {
		sel[i] = 32 * i
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := IndirectPixels(b.Context(), m, px, 9, means, WithNeurons(sel...)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(sel))/b.Elapsed().Seconds(), "neurons/s")
}
