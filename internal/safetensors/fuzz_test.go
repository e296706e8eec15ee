package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSafetensors checks that Read returns an error or tensors whose data
// match their shapes, and never panics.
func FuzzSafetensors(f *testing.F) {
	for _, name := range []string{"openai_f16.safetensors", "openai_bf16.safetensors", "hf/model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		// Whole fixtures make the fuzzer crawl; their headers are what matters.
		b = b[:min(len(b), 4096)]
		f.Add(b)
		for _, i := range []int{0, 3, 8, 20, 40, 200} {
			c := append([]byte(nil), b...)
			c[i] ^= 0x11
			f.Add(c)
		}
	}
	var small bytes.Buffer
	if err := Write(&small, map[string]Tensor{"a": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"s": {Shape: []int{}, Data: []float32{5}}}, map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	f.Add(small.Bytes())
	f.Add(file(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"a":"b"}}`, []byte{1, 2, 3, 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := Read(b)
		if err != nil {
			return
		}
		for k, v := range ts {
			if numel(v.Shape) != len(v.Data) {
				t.Fatalf("tensor %q: shape %v with %d values", k, v.Shape, len(v.Data))
			}
		}
	})
}
