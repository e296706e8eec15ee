package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/dtype"
)

const fixtures = "../../testdata/clip/formats"

// file builds a safetensors file from a header and a data section, by hand.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestWriteRead(t *testing.T) {
	in := map[string]Tensor{
		"b":      {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"a":      {Shape: []int{}, Data: []float32{-0.5}},
		"empty":  {Shape: []int{0, 4}, Data: []float32{}},
		"vector": {Shape: []int{3}, Data: []float32{7, 8, 9}},
	}
	md := map[string]string{"neuronlens.activation": "gelu"}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, in, md))
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	assert.Zero(t, (8+n)%8, "data section is 8-byte aligned")
	// Keys are sorted, so the data section is a, b, empty, vector.
	f, err := Parse(b)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "empty", "vector"}, f.Names())
	assert.Equal(t, Info{DType: dtype.F32, Shape: []int{2, 3}, Begin: 4, End: 28}, f.Tensors["b"])
	got, gotMD, err := Read(b)
	require.NoError(t, err)
	assert.Equal(t, md, gotMD)
	require.Len(t, got, len(in))
	for k, want := range in {
		assert.Equal(t, want.Shape, got[k].Shape, k)
		assert.Equal(t, want.Data, got[k].Data, k)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors map[string]Tensor
	}{
		{"short data", map[string]Tensor{"x": {Shape: []int{2, 2}, Data: []float32{1}}}},
		{"metadata key", map[string]Tensor{"__metadata__": {Shape: []int{1}, Data: []float32{1}}}},
		{"empty key", map[string]Tensor{"": {Shape: []int{1}, Data: []float32{1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Error(t, Write(&bytes.Buffer{}, tt.tensors, nil))
		})
	}
}

func TestParseErrors(t *testing.T) {
	eight := make([]byte, 8)
	tests := []struct {
		name    string
		b       []byte
		want    error
		mention string
	}{
		{"empty", nil, ErrTruncated, "8-byte"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<62), ErrFormat, "header length"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), ErrTruncated, "header length 100"},
		{"not json", file("[1, 2]  ", nil), ErrFormat, "'{'"},
		{"bad json", file("{\"a\": ", nil), ErrFormat, "JSON"},
		{"offsets past end", file(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight[:4]), ErrTruncated, `"w"`},
		{"wrong byte count", file(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), ErrFormat, "[3]"},
		{"backwards", file(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, eight), ErrFormat, "backwards"},
		{"negative shape", file(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, eight), ErrFormat, "shape"},
		{"overflow", file(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, eight), ErrFormat, "overflow"},
		{"unknown dtype", file(`{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, eight), ErrFormat, "F8_E4M3"},
		{"one offset", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, eight), ErrFormat, "data_offsets"},
		{"negative offset", file(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, eight), ErrFormat, `"w"`},
		{"metadata not strings", file(`{"__metadata__":{"a":1}}`, nil), ErrFormat, "__metadata__"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), ErrFormat, "overlap"},
		{"entry not object", file(`{"w":3}`, nil), ErrFormat, `"w"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Read(tt.b)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v is not %v", err, tt.want)
			assert.Contains(t, err.Error(), tt.mention)
		})
	}
}

// TestFixtures reads the files made by make_formats.py. Every value there is
// k/256 with |k| < 256, so the half-precision files hold the same numbers.
func TestFixtures(t *testing.T) {
	ref, md, err := ReadFile(filepath.Join(fixtures, "openai.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt"}, md)
	require.Contains(t, ref, "visual.proj")
	assert.Equal(t, []int{32, 16}, ref["visual.proj"].Shape)
	assert.Equal(t, []int{32, 3, 8, 8}, ref["visual.conv1.weight"].Shape)
	assert.Equal(t, []int{}, ref["logit_scale"].Shape)
	assert.Equal(t, []float32{4.5}, ref["logit_scale"].Data)
	for k, v := range ref {
		require.Len(t, v.Data, numel(v.Shape), k)
		for _, x := range v.Data {
			if k != "logit_scale" && (x*256 != float32(int(x*256)) || x <= -1 || x >= 1) {
				t.Fatalf("%s holds %v, not k/256", k, x)
			}
		}
	}
	for _, name := range []string{"openai_f16.safetensors", "openai_bf16.safetensors"} {
		t.Run(name, func(t *testing.T) {
			got, _, err := ReadFile(filepath.Join(fixtures, name))
			require.NoError(t, err)
			assert.Equal(t, ref, got)
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing.safetensors")
	_, _, err := ReadFile(p)
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), p)
}

func TestTruncatedFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures, "openai_f16.safetensors"))
	require.NoError(t, err)
	for _, cut := range []int{0, 4, 8, 9, 100, len(b) / 2, len(b) - 1} {
		_, _, err := Read(b[:cut])
		require.Error(t, err, "cut at %d", cut)
		assert.True(t, errors.Is(err, ErrTruncated) || errors.Is(err, ErrFormat), "cut at %d: %v", cut, err)
	}
}
