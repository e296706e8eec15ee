package shapesmodel

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/neuronlens/neuronlens/clip"
	"github.com/neuronlens/neuronlens/internal/safetensors"
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
	ts, md, err := safetensors.Read(checkpoint)
	if err != nil {
		return nil, fmt.Errorf("shapesmodel: %w", err)
	}
	sd := make(clip.StateDict, len(ts))
	for k, t := range ts {
		sd[k] = clip.Tensor{Shape: t.Shape, Data: t.Data}
	}
	act, err := clip.ParseActivation(md[clip.MetaActivation])
	if err != nil {
		return nil, fmt.Errorf("shapesmodel: %w", err)
	}
	vh, err1 := strconv.Atoi(md[clip.MetaVisionHeads])
	th, err2 := strconv.Atoi(md[clip.MetaTextHeads])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("shapesmodel: bad head counts %q, %q", md[clip.MetaVisionHeads], md[clip.MetaTextHeads])
	}
	m, err := clip.FromStateDict(sd, clip.WithActivation(act), clip.WithHeads(vh, th))
	if err != nil {
		return nil, fmt.Errorf("shapesmodel: %w", err)
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
