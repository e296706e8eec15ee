//go:build !amd64 || noasm

package sparse

const (
	haveScan32 = false
	haveScan64 = false
)

func scan4x2f32(dst *float32, ldc int, r *float32, ldr int, e *float32, lde int, pairs, chunks int) {
	panic("sparse: no assembly kernel")
}

func scan4x2f64(dst *float64, ldc int, r *float64, ldr int, e *float64, lde int, pairs, chunks int) {
	panic("sparse: no assembly kernel")
}
