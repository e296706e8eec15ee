package shapesmodel

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"

	"github.com/neuronlens/neuronlens/clip"
)

var (
	//go:embed shapes-clip.safetensors
	checkpoint []byte
	//go:embed vocab.txt.gz
	vocab []byte
	//go:embed shapes-clip.json
	report []byte
)

// Model returns the embedded shapes CLIP with its tokenizer. The error is
// only possible if the embedded files are corrupt.
func Model() (*clip.Model, error) {
	m, err := clip.ReadSafetensors("shapesmodel: shapes-clip.safetensors", checkpoint)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(vocab))
	if err != nil {
		return nil, fmt.Errorf("shapesmodel: vocab.txt.gz: %w", err)
	}
	tok, err := clip.ReadBPEMerges(zr, -1)
	if err != nil {
		return nil, fmt.Errorf("shapesmodel: vocab.txt.gz: %w", err)
	}
	if tok.VocabSize() != m.Config.Text.VocabSize {
		return nil, fmt.Errorf("shapesmodel: vocabulary has %d ids, the model %d", tok.VocabSize(), m.Config.Text.VocabSize)
	}
	m.SetTokenizer(tok)
	return m, nil
}

// Report returns a copy of shapes-clip.json: the training configuration
// and the held-out quality measured when the model was made.
func Report() []byte { return bytes.Clone(report) }
