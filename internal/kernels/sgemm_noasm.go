//go:build !amd64 || noasm

package kernels

// kernels lists the micro-kernels this build can run, best first.
func kernelsAvailable() []*microKernel { return []*microKernel{&genericKernel} }

var transpose8 = transpose8Generic
