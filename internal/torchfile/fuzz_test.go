package torchfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tinyFiles = []string{"tiny.pt", "tiny_legacy.pt", "tiny_torchscript.pt", "tiny_module.pt"}

// TestTiny reads the fuzz seeds: the same tensors in four layouts, the last
// a whole pickled nn.Module.
func TestTiny(t *testing.T) {
	var first map[string]Tensor
	for _, name := range tinyFiles {
		sd, _, err := ReadFile(filepath.Join(fixtures, name))
		require.NoError(t, err, name)
		require.Contains(t, sd, "a.w")
		assert.Equal(t, []int{2, 3}, sd["a.w"].Shape)
		assert.Equal(t, []int{}, sd["c"].Shape)
		assert.Equal(t, []float32{1.5}, sd["c"].Data)
		if first == nil {
			first = sd
			assert.Equal(t, []int{4}, sd["b"].Shape)
			continue
		}
		assert.NotContains(t, sd, "a.scratch", "a non-persistent buffer")
		for k, v := range sd {
			assert.Equal(t, first[k], v, "%s: %s", name, k)
		}
	}
}

// FuzzTorchFile checks that StateDict returns an error or tensors whose
// data match their shapes, and never panics.
func FuzzTorchFile(f *testing.F) {
	for _, name := range tinyFiles {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		for _, i := range []int{40, 100, 300, len(b) - 30} {
			c := append([]byte(nil), b...)
			c[i] ^= 0x04
			f.Add(c)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, _, err := StateDict(b)
		if err != nil {
			return
		}
		for k, v := range sd {
			n := 1
			for _, s := range v.Shape {
				n *= s
			}
			if n != len(v.Data) {
				t.Fatalf("tensor %q: shape %v with %d values", k, v.Shape, len(v.Data))
			}
		}
	})
}
