package torchfile

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neuronlens/neuronlens/internal/safetensors"
)

const fixtures = "../../testdata/clip/formats"

// reference is the state dict that make_formats.py also wrote as openai.safetensors.
func reference(t testing.TB) map[string]Tensor {
	ts, _, err := safetensors.ReadFile(filepath.Join(fixtures, "openai.safetensors"))
	require.NoError(t, err)
	out := make(map[string]Tensor, len(ts))
	for k, v := range ts {
		out[k] = Tensor(v)
	}
	return out
}

func TestStateDict(t *testing.T) {
	ref := reference(t)
	tests := []struct {
		file string
		kind Kind
	}{
		{"state_dict.pt", Zip},
		{"state_dict_legacy.pt", Legacy},
		{"state_dict_f16.pt", Zip},
		{"openclip_ckpt.pt", Zip},
		{"torchscript.pt", TorchScript},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sd, kind, err := ReadFile(filepath.Join(fixtures, tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.kind, kind)
			require.Equal(t, len(ref), len(sd))
			for k, want := range ref {
				got, ok := sd[k]
				require.True(t, ok, "missing %q", k)
				assert.Equal(t, want.Shape, got.Shape, k)
				assert.Equal(t, want.Data, got.Data, k)
			}
		})
	}
}

// TestStrided checks the transposed view directly: visual.proj was saved as
// a [32, 16] view with strides (1, 32) of a [16, 32] storage.
func TestStrided(t *testing.T) {
	sd, _, err := ReadFile(filepath.Join(fixtures, "state_dict.pt"))
	require.NoError(t, err)
	ref := reference(t)
	p := sd["visual.proj"]
	require.Equal(t, []int{32, 16}, p.Shape)
	// Independent check: the transpose of the transpose is contiguous in
	// the HF file, which stores visual_projection.weight as [16, 32].
	hf, _, err := safetensors.ReadFile(filepath.Join(fixtures, "hf/model.safetensors"))
	require.NoError(t, err)
	w := hf["visual_projection.weight"]
	require.Equal(t, []int{16, 32}, w.Shape)
	for i := range 32 {
		for j := range 16 {
			require.Equal(t, w.Data[j*32+i], p.Data[i*16+j], "(%d, %d)", i, j)
		}
	}
	assert.Equal(t, ref["visual.proj"].Data, p.Data)
}

func TestHFBin(t *testing.T) {
	sd, kind, err := ReadFile(filepath.Join(fixtures, "hf_bin/pytorch_model.bin"))
	require.NoError(t, err)
	assert.Equal(t, Zip, kind)
	hf, _, err := safetensors.ReadFile(filepath.Join(fixtures, "hf/model.safetensors"))
	require.NoError(t, err)
	require.Equal(t, len(hf), len(sd))
	for k, want := range hf {
		assert.Equal(t, want.Data, sd[k].Data, k)
	}
	assert.Equal(t, []float32{0, 1, 2, 3, 4}, sd["vision_model.embeddings.position_ids"].Data)
}

func TestErrors(t *testing.T) {
	legacy, err := os.ReadFile(filepath.Join(fixtures, "state_dict_legacy.pt"))
	require.NoError(t, err)
	zipped, err := os.ReadFile(filepath.Join(fixtures, "state_dict.pt"))
	require.NoError(t, err)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"garbage", []byte("hello world"), ErrFormat},
		{"legacy cut in a pickle", legacy[:500], ErrTruncated},
		{"legacy cut in the data", legacy[:len(legacy)-100], ErrTruncated},
		{"zip without data.pkl", zipOf(t, map[string]string{"a/b.txt": "x"}), ErrFormat},
		{"zip with a garbage pickle", zipOf(t, map[string]string{"a/data.pkl": "\x80\x02\xffgarbage"}), ErrFormat},
		{"zip of a list", zipOf(t, map[string]string{"a/data.pkl": "\x80\x02]."}), ErrFormat},
		{"zip cut", zipped[:len(zipped)-30], ErrFormat},
		{"zip missing storages", dropEntries(t, zipped, "/data/1"), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := StateDict(tt.b)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tt.want), "%v is not %v", err, tt.want)
		})
	}
}

func zipOf(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		require.NoError(t, err)
		_, err = io.WriteString(w, body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// dropEntries copies a zip without the entries whose names end with suffix.
func dropEntries(t testing.TB, b []byte, suffix string) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, suffix) {
			continue
		}
		require.NoError(t, zw.Copy(f))
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// sharedPickle is a data.pkl of a dict of n tensors that all view the whole
// storage "0" of 1000 float32s.
func sharedPickle(n int) string {
	const tensorArgs = "K\x00M\xe8\x03\x85K\x01\x85\x89]tR"
	var sb strings.Builder
	sb.WriteString("\x80\x02}q\x00(")
	sb.WriteString("X\x02\x00\x00\x00t0ctorch._utils\n_rebuild_tensor_v2\nq\x01((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuM\xe8\x03tQq\x02" + tensorArgs)
	for i := 1; i < n; i++ {
		sb.WriteString("X\x02\x00\x00\x00t" + string(rune('0'+i)) + "h\x01(h\x02" + tensorArgs)
	}
	sb.WriteString("u.")
	return sb.String()
}

func TestSharedStorage(t *testing.T) {
	data := string(make([]byte, 4000))
	sd, _, err := StateDict(zipOf(t, map[string]string{"a/data.pkl": sharedPickle(2), "a/data/0": data}))
	require.NoError(t, err, "tied weights share a storage")
	assert.Len(t, sd, 2)
	assert.Equal(t, []int{1000}, sd["t1"].Shape)

	_, _, err = StateDict(zipOf(t, map[string]string{"a/data.pkl": sharedPickle(6), "a/data/0": data}))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrFormat)
	assert.Contains(t, err.Error(), "6 tensors")
}

func TestCompressionBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "a/data.pkl", Method: zip.Store})
	require.NoError(t, err)
	_, err = io.WriteString(w, sharedPickle(1))
	require.NoError(t, err)
	w, err = zw.CreateHeader(&zip.FileHeader{Name: "a/data/0", Method: zip.Deflate})
	require.NoError(t, err)
	_, err = w.Write(make([]byte, 4000))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	sd, _, err := StateDict(buf.Bytes())
	require.NoError(t, err, "a deflated storage within the ratio")
	assert.Equal(t, make([]float32, 1000), sd["t0"].Data)

	// Claim 1 MiB from 3 bytes: past any deflate ratio.
	f := &zip.File{FileHeader: zip.FileHeader{Name: "x", Method: zip.Deflate, CompressedSize64: 3, UncompressedSize64: 1 << 20}}
	_, err = entryBytes(nil, f, 1<<30)
	assert.ErrorIs(t, err, ErrFormat)
}
