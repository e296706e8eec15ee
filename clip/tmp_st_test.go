package clip

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// tmpLoad is a stand-in reader until the real loaders land.
func tmpLoad(t *testing.T, path string) *Model {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b[8:8+n], &hdr))
	data := b[8+n:]
	sd := StateDict{}
	var src source
	src.path = path
	for k, raw := range hdr {
		if k == "__metadata__" {
			var md map[string]string
			json.Unmarshal(raw, &md)
			if a, ok := md["neuronlens.activation"]; ok {
				src.activation, _ = ParseActivation(a)
			}
			src.visionHeads, _ = strconv.Atoi(md["neuronlens.vision_heads"])
			continue
		}
		var e struct {
			Dtype string
			Shape []int
			Off   [2]int `json:"data_offsets"`
		}
		require.NoError(t, json.Unmarshal(raw, &e))
		seg := data[e.Off[0]:e.Off[1]]
		var f []float32
		switch e.Dtype {
		case "F32":
			for i := 0; i < len(seg); i += 4 {
				f = append(f, math.Float32frombits(binary.LittleEndian.Uint32(seg[i:])))
			}
		case "F16":
			for i := 0; i < len(seg); i += 2 {
				f = append(f, f16(binary.LittleEndian.Uint16(seg[i:])))
			}
		}
		sd[k] = Tensor{Shape: e.Shape, Data: f}
	}
	m, err := fromStateDict(sd, src, newOptions(nil))
	require.NoError(t, err)
	return m
}

func f16(h uint16) float32 {
	s := uint32(h>>15) << 31
	e := int(h>>10) & 0x1f
	f := uint32(h & 0x3ff)
	switch {
	case e == 0:
		return math.Float32frombits(s) + float32(math.Ldexp(float64(f), -24))*sign(s)
	case e == 31:
		return math.Float32frombits(s | 0x7f800000 | f<<13)
	}
	return math.Float32frombits(s | uint32(e-15+127)<<23 | f<<13)
}

func sign(s uint32) float32 {
	if s != 0 {
		return -1
	}
	return 1
}
