package clip

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadStateDict reads the tiny fixture in each layout; MB/s counts
// the bytes of the file read.
func BenchmarkReadStateDict(b *testing.B) {
	for _, name := range []string{
		"openai.safetensors", "openai_bf16.safetensors", "state_dict.pt",
		"state_dict_legacy.pt", "torchscript.pt", "hf",
	} {
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(formats, name)
			size := int64(0)
			_ = filepath.Walk(path, func(_ string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					size += fi.Size()
				}
				return nil
			})
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := readStateDict(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
