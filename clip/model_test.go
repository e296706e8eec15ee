package clip

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuronlens/neuronlens/internal/npy"
	"github.com/neuronlens/neuronlens/internal/numtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const goldenDir = "../testdata/clip/model"

type manifest struct {
	Activation string `json:"activation"`
	Heads      int    `json:"heads"`
	Embed      int    `json:"embed"`
}

func readManifest(t *testing.T, name string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name, "manifest.json"))
	require.NoError(t, err, "golden manifest missing: run testdata/clip/model/make_goldens.py")
	var m manifest
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func golden(t *testing.T, model, name string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(goldenDir, model, name+".npy"))
	require.NoError(t, err)
	return a
}

// relTol is the parity bar: max abs difference ≤ 1e-4 × the norm of the value.
func closeToGolden(t *testing.T, want []float32, got []float32, what string) {
	t.Helper()
	numtest.Close(t, want, got, 0, 1e-4*numtest.Norm(want), what)
}

func loadGoldenModel(t *testing.T, name string) *Model {
	t.Helper()
	m, err := Load(filepath.Join(goldenDir, name, "model.safetensors"))
	require.NoError(t, err)
	return m
}

func TestModelImageEmbeddingsMatchReference(t *testing.T) {
	for _, name := range []string{"small", "gelu"} {
		t.Run(name, func(t *testing.T) {
			man := readManifest(t, name)
			m := loadGoldenModel(t, name)
			assert.Equal(t, man.Activation, m.Config.Activation.String())
			assert.Equal(t, man.Heads, m.Config.Vision.Heads)
			pixels := golden(t, name, "pixels")
			want := golden(t, name, "image_emb")
			n := pixels.Shape[0]
			per := pixels.Len() / n
			d := want.Shape[1]
			for i := range n {
				got, err := m.EncodePixels(pixels.Float32()[i*per : (i+1)*per])
				require.NoError(t, err)
				closeToGolden(t, want.Float32()[i*d:(i+1)*d], got, fmt.Sprintf("image %d", i))
			}
		})
	}
}

func TestModelImageTraceMatchesReference(t *testing.T) {
	for _, name := range []string{"small", "gelu"} {
		t.Run(name, func(t *testing.T) {
			m := loadGoldenModel(t, name)
			var hk Hooks
			var tr Trace
			sites := map[Site]string{ResidPre: "resid_pre", LN1Mean: "ln1_mean", LN1Scale: "ln1_scale",
				AttnPattern: "attn_pattern", MLPPost: "mlp_post", ResidPost: "resid_post"}
			var points []Point
			for l := range m.Config.Vision.Layers {
				for s := range sites {
					points = append(points, Point{Layer: l, Site: s})
				}
			}
			points = append(points, Point{Site: LNPostMean}, Point{Site: LNPostScale})
			tr.Keep(&hk, points...)
			pixels := golden(t, name, "pixels")
			per := pixels.Len() / pixels.Shape[0]
			_, err := m.RunPixels(t.Context(), pixels.Float32()[:per], &hk)
			require.NoError(t, err)
			for _, p := range points {
				var file string
				switch p.Site {
				case LNPostMean:
					file = "image_ln_post_mean"
				case LNPostScale:
					file = "image_ln_post_scale"
				default:
					file = fmt.Sprintf("image_%s_%d", sites[p.Site], p.Layer)
				}
				a, ok := tr.At(p)
				require.True(t, ok, p.String())
				want := golden(t, name, file)
				assert.Equal(t, want.Len(), a.Rows*a.Cols, p.String())
				closeToGolden(t, want.Float32(), a.Data, p.String())
			}
		})
	}
}

func TestModelTextEmbeddingsMatchReference(t *testing.T) {
	m := loadGoldenModel(t, "small")
	tokens := golden(t, "small", "tokens")
	want := golden(t, "small", "text_emb")
	C, d := tokens.Shape[1], want.Shape[1]
	ids := tokens.Int()
	for i := range tokens.Shape[0] {
		got, err := m.EncodeTokens(ids[i*C : (i+1)*C])
		require.NoError(t, err)
		closeToGolden(t, want.Float32()[i*d:(i+1)*d], got, fmt.Sprintf("text %d", i))
	}
	// The trace of sequence 1 stops at its EOT; the reference ran the full context.
	var hk Hooks
	var tr Trace
	tr.Keep(&hk, Point{0, AttnPattern}, Point{1, MLPPost})
	seq := ids[C : 2*C]
	_, err := m.RunTokens(t.Context(), seq, &hk)
	require.NoError(t, err)
	T := 0
	for i, id := range seq {
		if id > seq[T] {
			T = i
		}
	}
	T++
	full := golden(t, "small", "text_mlp_post_1")
	N := full.Shape[1]
	post, _ := tr.At(Point{1, MLPPost})
	closeToGolden(t, full.Float32()[:T*N], post.Data, "text mlp_post")
	pat := golden(t, "small", "text_attn_pattern_0")
	H := pat.Shape[0]
	got, _ := tr.At(Point{0, AttnPattern})
	require.Equal(t, H*T, got.Rows)
	for h := range H {
		for q := range T {
			closeToGolden(t, pat.Float32()[(h*C+q)*C:(h*C+q)*C+T], got.Data[(h*T+q)*T:(h*T+q+1)*T], "text pattern")
		}
	}
}
