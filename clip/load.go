package clip

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/neuronlens/neuronlens/internal/pickle"
	"github.com/neuronlens/neuronlens/internal/safetensors"
	"github.com/neuronlens/neuronlens/internal/torchfile"
)

var (
	// ErrFormat is returned, wrapped, when a checkpoint is in no format that
	// [Load] reads, or is corrupt: a malformed header, pickle or zip archive,
	// a tensor whose shape does not fit its data, a config that contradicts
	// itself.
	ErrFormat = errors.New("clip: unknown or corrupt checkpoint format")
	// ErrTruncated is returned, wrapped, when a checkpoint file is shorter
	// than its own header says.
	ErrTruncated = errors.New("clip: checkpoint is truncated")
)

// Metadata keys that neuronlens writes into the safetensors files it saves,
// and that [Load] reads back.
const (
	MetaActivation  = "neuronlens.activation"   // "quick_gelu" or "gelu"
	MetaVisionHeads = "neuronlens.vision_heads" // decimal
	MetaTextHeads   = "neuronlens.text_heads"   // decimal
)

// Load reads a CLIP checkpoint and builds the model. path is a file or a
// directory; the format is recognised from the contents, not the name:
//
//   - a safetensors file, in OpenAI/open_clip or Hugging Face naming (the
//     metadata keys [MetaActivation], [MetaVisionHeads] and [MetaTextHeads]
//     are honoured);
//   - a PyTorch state dict saved by torch.save (.pt, .pth, .bin), in the zip
//     format or the legacy one, or an open_clip training checkpoint holding
//     {"state_dict": ...};
//   - OpenAI's TorchScript archives (ViT-B-32.pt as distributed), which
//     imply QuickGELU;
//   - a Hugging Face directory: config.json with model.safetensors or
//     pytorch_model.bin, or shards of either listed by
//     model.safetensors.index.json or pytorch_model.bin.index.json, and
//     optionally vocab.json and merges.txt, which become the model's
//     tokenizer;
//   - an open_clip directory: open_clip_config.json with
//     open_clip_model.safetensors or open_clip_pytorch_model.bin. An
//     open_clip_config.json beside a single file is read too.
//
// Half, bfloat16 and double precision tensors are converted to float32.
// Errors name the file and, where one is involved, the tensor key; they
// wrap [ErrFormat] or [ErrTruncated] for bad contents, and the
// *fs.PathError for a path that cannot be read.
func Load(path string, opts ...Option) (*Model, error) {
	sd, src, err := readStateDict(path)
	if err != nil {
		return nil, err
	}
	return fromStateDict(sd, src, newOptions(opts))
}

// ReadSafetensors builds a model from a safetensors checkpoint held in
// memory, in either naming, as [Load] does for a file: the neuronlens.*
// metadata is read, Hugging Face names are converted, and the architecture
// is inferred from the shapes. name stands for the checkpoint in error
// messages. It serves models embedded in a binary with go:embed.
func ReadSafetensors(name string, b []byte, opts ...Option) (*Model, error) {
	src := source{path: name}
	ts, md, err := safetensors.Read(b)
	if err != nil {
		return nil, wrapErr(name, err)
	}
	sd := make(StateDict, len(ts))
	for k, t := range ts {
		sd[k] = Tensor{Shape: t.Shape, Data: t.Data}
	}
	if err := readMetadata(name, md, &src); err != nil {
		return nil, err
	}
	if isHFNaming(sd) {
		if sd, err = fromHFNames(sd, name); err != nil {
			return nil, err
		}
	}
	return fromStateDict(sd, src, newOptions(opts))
}

// loadError is an error about the checkpoint at path. It unwraps to both
// kind (ErrFormat, ErrTruncated or nil) and the underlying error.
type loadError struct {
	path string
	kind error
	err  error
}

func (e *loadError) Error() string { return "clip: " + e.path + ": " + e.err.Error() }

func (e *loadError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrapErr attributes err to the file at path, classifying it.
func wrapErr(path string, err error) error {
	var le *loadError
	if errors.As(err, &le) {
		return err
	}
	kind := error(nil)
	switch {
	case errors.Is(err, safetensors.ErrTruncated), errors.Is(err, torchfile.ErrTruncated),
		errors.Is(err, pickle.ErrTruncated), errors.Is(err, io.ErrUnexpectedEOF):
		kind = ErrTruncated
	case errors.Is(err, safetensors.ErrFormat), errors.Is(err, torchfile.ErrFormat),
		errors.Is(err, pickle.ErrFormat), errors.Is(err, zip.ErrFormat):
		kind = ErrFormat
	}
	var pe *fs.PathError
	if kind == nil && errors.As(err, &pe) {
		return fmt.Errorf("clip: %w", err) // the PathError names the path
	}
	return &loadError{path: path, kind: kind, err: err}
}

// formatErr returns an ErrFormat error about the file at path.
func formatErr(path, format string, args ...any) error {
	return &loadError{path: path, kind: ErrFormat, err: fmt.Errorf(format, args...)}
}

// readStateDict reads the checkpoint at path (see [Load]) into a state dict
// in OpenAI naming, and what the checkpoint says about itself.
func readStateDict(path string) (StateDict, source, error) {
	src := source{path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, src, fmt.Errorf("clip: %w", err)
	}
	if fi.IsDir() {
		return readDir(path)
	}
	sd, err := readWeights(path, &src)
	if err != nil {
		return nil, src, err
	}
	cfg := filepath.Join(filepath.Dir(path), openCLIPConfigName)
	if _, err := os.Stat(cfg); err == nil {
		if err := readOpenCLIPConfig(cfg, &src); err != nil {
			return nil, src, err
		}
	}
	return sd, src, nil
}

// format is a checkpoint file layout, told from the first bytes.
type format uint8

const (
	formatUnknown format = iota
	formatSafetensors
	formatTorch // zip, TorchScript or legacy
)

// sniff tells the format from the first bytes of a file.
func sniff(head []byte) format {
	switch {
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) >= 2:
		return formatSafetensors
	case torchfile.IsZip(head), torchfile.IsLegacy(head):
		return formatTorch
	}
	return formatUnknown
}

// readWeights reads one checkpoint file, converts Hugging Face names, and
// records in src what the file says about the model.
func readWeights(path string, src *source) (StateDict, error) {
	sd, err := readTensors(path, src)
	if err != nil {
		return nil, err
	}
	return finishNames(sd, path)
}

// finishNames converts Hugging Face names to OpenAI's and drops the plain
// values that OpenAI's TorchScript models keep beside the weights.
func finishNames(sd StateDict, path string) (StateDict, error) {
	if isHFNaming(sd) {
		return fromHFNames(sd, path)
	}
	for _, k := range []string{"input_resolution", "context_length", "vocab_size"} {
		delete(sd, k)
	}
	return sd, nil
}

// readTensors reads the tensors of one safetensors, PyTorch or TorchScript
// file under their stored names, and what the file says of the model into
// src.
func readTensors(path string, src *source) (StateDict, error) {
	head, err := readHead(path, 16)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	var sd StateDict
	switch sniff(head) {
	case formatSafetensors:
		ts, md, err := safetensors.ReadFile(path)
		if err != nil {
			return nil, wrapErr(path, err)
		}
		sd = make(StateDict, len(ts))
		for k, t := range ts {
			sd[k] = Tensor{Shape: t.Shape, Data: t.Data}
		}
		if err := readMetadata(path, md, src); err != nil {
			return nil, err
		}
	case formatTorch:
		ts, kind, err := torchfile.ReadFile(path)
		if err != nil {
			return nil, wrapErr(path, err)
		}
		sd = make(StateDict, len(ts))
		for k, t := range ts {
			sd[k] = Tensor{Shape: t.Shape, Data: t.Data}
		}
		if kind == torchfile.TorchScript {
			// OpenAI's TorchScript models are the original QuickGELU ones.
			if err := setActivation(src, QuickGELU, path, "TorchScript archive"); err != nil {
				return nil, err
			}
		}
	default:
		if len(head) == 0 {
			return nil, formatErr(path, "empty file")
		}
		return nil, formatErr(path, "not a safetensors, PyTorch or TorchScript file (starts with %q)", head)
	}
	return sd, nil
}

// readHead returns up to n bytes from the start of the file at path.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, n)
	m, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return head[:m], nil
}

// readMetadata reads the neuronlens.* safetensors metadata into src.
func readMetadata(path string, md map[string]string, src *source) error {
	if s, ok := md[MetaActivation]; ok {
		a, err := ParseActivation(s)
		if err != nil {
			return formatErr(path, "metadata %q: %v", MetaActivation, err)
		}
		if err := setActivation(src, a, path, "metadata"); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		key string
		dst *int
	}{{MetaVisionHeads, &src.visionHeads}, {MetaTextHeads, &src.textHeads}} {
		s, ok := md[m.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return formatErr(path, "metadata %q is %q, want a positive integer", m.key, s)
		}
		*m.dst = n
	}
	return nil
}

// setActivation records a, or fails if the checkpoint already said otherwise.
func setActivation(src *source, a Activation, path, where string) error {
	if src.activation != ActivationUnset && src.activation != a {
		return formatErr(path, "%s says activation %v, but the checkpoint says %v", where, a, src.activation)
	}
	src.activation = a
	return nil
}

// setHeads records the head count of one tower, or fails on a contradiction.
func setHeads(dst *int, n int, path, tower string) error {
	if n <= 0 {
		return nil
	}
	if *dst != 0 && *dst != n {
		return formatErr(path, "%s tower has %d heads, but the checkpoint says %d", tower, n, *dst)
	}
	*dst = n
	return nil
}
