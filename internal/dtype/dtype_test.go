package dtype

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFloat16(t *testing.T) {
	tests := []struct {
		name string
		bits uint16
		want float32
	}{
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"max", 0x7bff, 65504},
		{"smallest normal", 0x0400, float32(math.Ldexp(1, -14))},
		{"smallest subnormal", 0x0001, float32(math.Ldexp(1, -24))},
		{"largest subnormal", 0x03ff, float32(1023 * math.Ldexp(1, -24))},
		{"negative subnormal", 0x8001, -float32(math.Ldexp(1, -24))},
		{"zero", 0x0000, 0},
		{"one third", 0x3555, 1365.0 / 4096},
		{"inf", 0x7c00, float32(math.Inf(1))},
		{"-inf", 0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Float16(tt.bits))
		})
	}
	assert.True(t, math.IsNaN(float64(Float16(0x7e00))))
	assert.True(t, math.Signbit(float64(Float16(0x8000))))
}

func TestToFloat32(t *testing.T) {
	tests := []struct {
		name string
		d    DType
		src  []byte
		want []float32
	}{
		{"F32", F32, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, []float32{1, -2}},
		{"F16", F16, []byte{0x00, 0x3c, 0x00, 0xc0}, []float32{1, -2}},
		{"BF16", BF16, []byte{0x80, 0x3f, 0x40, 0xc0}, []float32{1, -3}},
		{"F64", F64, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, []float32{1}},
		{"I64", I64, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []float32{-2}},
		{"I32", I32, []byte{7, 0, 0, 0}, []float32{7}},
		{"I16", I16, []byte{0xff, 0xff}, []float32{-1}},
		{"I8", I8, []byte{0x80}, []float32{-128}},
		{"U8", U8, []byte{0x80}, []float32{128}},
		{"Bool", Bool, []byte{1, 0}, []float32{1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]float32, len(tt.want))
			ToFloat32(got, tt.src, tt.d)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.d, Parse(tt.d.String()))
		})
	}
	assert.Equal(t, Invalid, Parse("F8_E4M3"))
	assert.Panics(t, func() { ToFloat32(make([]float32, 2), make([]byte, 7), F32) })
}
