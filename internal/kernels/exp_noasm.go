//go:build !amd64 || noasm

package kernels

var (
	expShift  = expShiftGeneric
	quickGELU = quickGELUGeneric
	geluVec   = geluGeneric
)
