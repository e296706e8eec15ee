package clip

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuronlens/neuronlens/internal/safetensors"
)

// FuzzReadStateDict writes each input to a file and reads it: the result is
// an error naming the file, or tensors whose data match their shapes.
func FuzzReadStateDict(f *testing.F) {
	for _, name := range []string{"tiny.pt", "tiny_legacy.pt", "tiny_torchscript.pt", "tiny_module.pt"} {
		b, err := os.ReadFile(filepath.Join(formats, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var buf bytes.Buffer
	err := safetensors.Write(&buf, map[string]safetensors.Tensor{
		"vision_model.encoder.layers.0.self_attn.q_proj.weight": {Shape: []int{1, 1}, Data: []float32{1}},
		"vision_model.encoder.layers.0.self_attn.k_proj.weight": {Shape: []int{1, 1}, Data: []float32{2}},
		"vision_model.encoder.layers.0.self_attn.v_proj.weight": {Shape: []int{1, 1}, Data: []float32{3}},
		"visual_projection.weight":                              {Shape: []int{1, 2}, Data: []float32{4, 5}},
	}, map[string]string{MetaActivation: "gelu", MetaVisionHeads: "1"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "fuzz.bin")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		sd, _, err := readStateDict(p)
		if err != nil {
			if !bytes.Contains([]byte(err.Error()), []byte(p)) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for k, v := range sd {
			if v.Len() != len(v.Data) {
				t.Fatalf("tensor %q: shape %v with %d values", k, v.Shape, len(v.Data))
			}
		}
	})
}
