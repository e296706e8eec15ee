package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hostPrelude lets a host C++ compiler parse the kernel source: CUDA's
// qualifiers become nothing, the thread indices and intrinsics are declared.
// This checks syntax and types, the most NVRTC could reject, where no CUDA
// toolkit is installed. What it cannot check is device-only semantics.
const hostPrelude = `#include <math.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define NL_DYN_SMEM extern float
struct nl_dim3 { unsigned x, y, z; };
extern nl_dim3 threadIdx, blockIdx, blockDim, gridDim;
float __shfl_xor_sync(unsigned mask, float v, int lane, int width);
void __syncthreads();
void __syncwarp();
inline int min(int a, int b) { return a < b ? a : b; }
`

func TestKernelSourceCompilesAsHostCXX(t *testing.T) {
	cxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++: cannot syntax-check the kernel source here")
	}
	path := filepath.Join(t.TempDir(), "kernels.cu.cpp")
	if err := os.WriteFile(path, []byte(hostPrelude+KernelSource), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(cxx, "-fsyntax-only", "-std=c++14", "-Wall", "-Wextra", "-Werror",
		"-Wno-unused-parameter", path).CombinedOutput()
	if err != nil {
		t.Fatalf("kernel source does not compile as host C++: %v\n%s", err, out)
	}
}

func TestKernelNamesDefined(t *testing.T) {
	for _, n := range KernelNames {
		if !strings.Contains(KernelSource, `extern "C" __global__ void `+n+"(") {
			t.Errorf("kernel %q is not defined in KernelSource", n)
		}
	}
}
