package shapesmodel

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

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

// The files that examples/train writes to its output folder and that Load
// reads: the same names as the embedded files.
const (
	CheckpointFile = "shapes-clip.safetensors"
	VocabFile      = "vocab.txt.gz"
	ReportFile     = "shapes-clip.json"
)

// Load reads a shapes-world model that examples/train wrote to dir
// (CheckpointFile with its tokenizer VocabFile), for running the examples
// and tests of the shapes world on a retrained model, possibly of another
// size, instead of the embedded one. Errors name the file.
func Load(dir string) (*clip.Model, error) {
	ckpt := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(ckpt); err != nil {
		return nil, fmt.Errorf("shapesmodel: %w (want the folder examples/train wrote)", err)
	}
	vocabPath := filepath.Join(dir, VocabFile)
	if _, err := os.Stat(vocabPath); err != nil {
		return nil, fmt.Errorf("shapesmodel: %w (want the folder examples/train wrote)", err)
	}
	m, err := clip.Load(ckpt, clip.WithVocab(vocabPath))
	if err != nil {
		return nil, err
	}
	if m.Config.Vision == nil || m.Config.Text == nil {
		return nil, fmt.Errorf("shapesmodel: %s: want both towers", ckpt)
	}
	return m, nil
}

// Report returns a copy of shapes-clip.json: the training configuration
// and the held-out quality measured when the model was made.
func Report() []byte { return bytes.Clone(report) }
