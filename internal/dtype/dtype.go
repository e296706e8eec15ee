package dtype

import (
	"encoding/binary"
	"math"
)

// DType is an element type of a stored tensor.
type DType uint8

// The element types that checkpoints use. Invalid is the zero value.
const (
	Invalid DType = iota
	F32
	F16
	BF16
	F64
	I64
	I32
	I16
	I8
	U8
	Bool
)

var names = [...]string{"invalid", "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"}

var sizes = [...]int{0, 4, 2, 2, 8, 8, 4, 2, 1, 1, 1}

// String returns the safetensors name of d ("F32", "BF16", ...).
func (d DType) String() string {
	if int(d) < len(names) {
		return names[d]
	}
	return "invalid"
}

// Size returns the number of bytes of one element, or 0 for Invalid.
func (d DType) Size() int {
	if int(d) < len(sizes) {
		return sizes[d]
	}
	return 0
}

// Parse returns the DType with the given safetensors name, or Invalid.
func Parse(name string) DType {
	for i, n := range names {
		if i > 0 && n == name {
			return DType(i)
		}
	}
	return Invalid
}

// ToFloat32 converts the little-endian elements in src to float32 in dst.
// It panics if d is Invalid or len(src) != len(dst)*d.Size(): callers check
// sizes against the file header first.
func ToFloat32(dst []float32, src []byte, d DType) {
	if d.Size() == 0 || len(src) != len(dst)*d.Size() {
		panic("dtype: ToFloat32 size mismatch")
	}
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = Float16(le.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(le.Uint64(src[8*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(src[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case U8, Bool:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	}
}

// Float16 returns the float32 value of the IEEE 754 binary16 number with bits h.
func Float16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN; keep the payload
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: man × 2^-24, exact in float32.
	v := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}
