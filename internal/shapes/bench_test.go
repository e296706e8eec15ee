package shapes

import "testing"

// BenchmarkSample renders one sample with its masks and caption.
func BenchmarkSample(b *testing.B) {
	for _, sz := range []struct {
		name string
		n    int
	}{{"64", 64}, {"224", 224}} {
		b.Run(sz.name, func(b *testing.B) {
			src := Dataset(1, 1<<20, WithSize(sz.n, sz.n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = src.At(i)
				i = (i + 1) % src.Len()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Parse("two large red triangles, a small yellow circle and a small blue star on water", 1)
	}
}
